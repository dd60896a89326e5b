# Links Abseil, RE2, yaml-cpp, libyaml and SQLite from their static archives
# where the system ships them (Debian does), instead of their shared objects.
#
# Why: a `weir filter` or `weir check` process otherwise maps about 80 shared
# objects at start, ~35 of them Abseil's, and the dynamic loader resolves
# some 14,000 symbol relocations before main(): about 17 ms of CPU on the
# 2-core benchmark machine, a third of the time it takes to match all of
# CityLots against 1,000 rules (docs/performance.md, "Starting a process").
# With the archives the executables start in about half that.
#
# The archives are only used where nothing is a shared object of ours: not
# for the Python module (WEIR_BUILD_PYTHON), whose static libraries go into
# a shared module and would need position-independent archives.
option(WEIR_STATIC_DEPS
       "Link Abseil, RE2, yaml-cpp, libyaml and SQLite statically when their archives exist" ON)

# weir_archive_of(PATH OUT): the archive beside a shared object PATH
# (libX.so[.N...] -> libX.a) when it exists, else PATH.
function(weir_archive_of path out)
  set(result "${path}")
  if(path MATCHES "^/.*\\.so(\\.[0-9.]+)?$")
    string(REGEX REPLACE "\\.so(\\.[0-9.]+)?$" ".a" archive "${path}")
    if(EXISTS "${archive}")
      set(result "${archive}")
    endif()
  endif()
  set(${out} "${result}" PARENT_SCOPE)
endfunction()

# weir_prefer_archives(TARGET...): for each imported target, a shared object
# it names (its location, or a path among its link libraries) is replaced by
# the archive beside it (libX.so[.N...] -> libX.a), when that exists.
function(weir_prefer_archives)
  if(NOT WEIR_STATIC_DEPS OR WEIR_BUILD_PYTHON)
    return()
  endif()
  foreach(target IN LISTS ARGN)
    if(NOT TARGET ${target})
      continue()
    endif()
    get_target_property(aliased ${target} ALIASED_TARGET)
    if(aliased)
      set(target ${aliased})
    endif()
    get_target_property(type ${target} TYPE)
    if(NOT type STREQUAL "INTERFACE_LIBRARY")
      get_target_property(configs ${target} IMPORTED_CONFIGURATIONS)
      set(props IMPORTED_LOCATION)
      foreach(cfg IN LISTS configs)
        list(APPEND props IMPORTED_LOCATION_${cfg})
      endforeach()
      foreach(prop IN LISTS props)
        get_target_property(loc ${target} ${prop})
        if(loc)
          weir_archive_of("${loc}" archive)
          if(NOT archive STREQUAL loc)
            set_target_properties(${target} PROPERTIES ${prop} "${archive}")
            # Not a shared library any more: no soname to record.
            set_property(TARGET ${target} PROPERTY IMPORTED_NO_SONAME TRUE)
          endif()
        endif()
      endforeach()
    endif()
    get_target_property(libs ${target} INTERFACE_LINK_LIBRARIES)
    if(libs)
      set(out)
      foreach(lib IN LISTS libs)
        weir_archive_of("${lib}" lib)
        list(APPEND out "${lib}")
      endforeach()
      set_target_properties(${target} PROPERTIES INTERFACE_LINK_LIBRARIES "${out}")
    endif()
  endforeach()
endfunction()

# Every Abseil target this directory sees.
function(weir_prefer_abseil_archives)
  get_property(imported DIRECTORY PROPERTY IMPORTED_TARGETS)
  set(absl)
  foreach(t IN LISTS imported)
    if(t MATCHES "^absl::")
      list(APPEND absl ${t})
    endif()
  endforeach()
  weir_prefer_archives(${absl})
endfunction()
