# `cmake --install`: the public headers, the libraries, the weir command, a
# CMake package (find_package(weir CONFIG REQUIRED) -> weir::engine,
# weir::rules, weir::stream, weir::actions) and weir.pc for pkg-config.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(WEIR_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/weir)
set(weir_libraries weir_engine weir_rules)
foreach(t weir_stream weir_actions weir_c)
  if(TARGET ${t})
    list(APPEND weir_libraries ${t})
  endif()
endforeach()

foreach(t ${weir_libraries})
  # Consumers see include/ where it is installed, the tree while building.
  set_property(TARGET ${t} PROPERTY INTERFACE_INCLUDE_DIRECTORIES
               "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>"
               "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
  string(REPLACE "weir_" "" short ${t})
  set_target_properties(${t} PROPERTIES
    EXPORT_NAME ${short}
    OUTPUT_NAME ${t}
    VERSION ${PROJECT_VERSION}
    SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
endforeach()

install(TARGETS ${weir_libraries} EXPORT weirTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS weir RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/weir DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
install(EXPORT weirTargets NAMESPACE weir:: DESTINATION ${WEIR_INSTALL_CMAKEDIR})

if(TARGET weir_actions)
  set(WEIR_HAVE_ACTIONS 1)
else()
  set(WEIR_HAVE_ACTIONS 0)
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/weirConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/weirConfig.cmake INSTALL_DESTINATION ${WEIR_INSTALL_CMAKEDIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/weirConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/weirConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/weirConfigVersion.cmake
        DESTINATION ${WEIR_INSTALL_CMAKEDIR})

# pkg-config: the libraries in link order. They are static, so their Debian
# dependencies are in Requires (linked as the shared libraries Debian ships):
# `pkg-config --cflags --libs weir`. libcurl is not among them: webhook actions
# load it when first used (actions/curl_api.h).
set(WEIR_PC_LIBS "")
foreach(t weir_c weir_actions weir_stream weir_rules weir_engine)
  if(t IN_LIST weir_libraries)
    string(APPEND WEIR_PC_LIBS " -l${t}")
  endif()
endforeach()
set(WEIR_PC_REQUIRES "simdjson re2 yaml-cpp yaml-0.1 absl_status absl_statusor absl_strings absl_time absl_flat_hash_map absl_synchronization")
if(TARGET weir_actions)
  string(APPEND WEIR_PC_REQUIRES " sqlite3 libcrypto")
  # dlopen (of libcurl): in libc from glibc 2.34, in libdl before.
  foreach(dl IN LISTS CMAKE_DL_LIBS)
    string(APPEND WEIR_PC_LIBS " -l${dl}")
  endforeach()
endif()
# The prefix is found from weir.pc's own place (${pcfiledir}), so that
# `cmake --install --prefix P` gives a weir.pc that points into P, not at
# the prefix configured at build time.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(WEIR_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(WEIR_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  string(REGEX REPLACE "[^/]+" ".." weir_pc_up "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
  set(WEIR_PC_PREFIX "\${pcfiledir}/${weir_pc_up}")
  set(WEIR_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/weir.pc.in ${CMAKE_CURRENT_BINARY_DIR}/weir.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/weir.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
