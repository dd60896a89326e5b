"""Builds weir's Python module by driving the repository's CMake build.

Offline, in a virtual environment of Debian's Python (see docs/embedding.md):

    /usr/bin/python3 -m venv --system-site-packages .venv
    .venv/bin/pip install --no-build-isolation ./bindings/python
"""
import os
import pathlib
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def version():
    text = (ROOT / "CMakeLists.txt").read_text()
    return re.search(r"project\(weir VERSION ([0-9.]+)", text).group(1)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = pathlib.Path(os.environ.get("WEIR_PY_BUILD_DIR", HERE / "build" / "cmake"))
        build.mkdir(parents=True, exist_ok=True)
        subprocess.check_call([
            "cmake", "-S", str(ROOT), "-B", str(build), "-G", "Ninja",
            "-DCMAKE_BUILD_TYPE=Release", "-DWEIR_BUILD_PYTHON=ON",
            "-DWEIR_BUILD_TESTS=OFF", "-DWEIR_BUILD_BENCH=OFF",
            f"-DPython_EXECUTABLE={sys.executable}",
        ])
        subprocess.check_call(["cmake", "--build", str(build), "--target", "_weir",
                               f"-j{os.cpu_count() or 2}"])
        built = next((build / "bindings" / "python" / "weir").glob("_weir*.so"))
        dest = pathlib.Path(self.get_ext_fullpath(ext.name))
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, dest)


if not (ROOT / "engine").is_dir():
    sys.exit(f"weir's Python module is built from the repository; {ROOT} is not it")

setup(
    version=version(),
    ext_modules=[Extension("weir._weir", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
)
