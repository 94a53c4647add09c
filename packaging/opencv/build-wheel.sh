#!/usr/bin/env bash
# Builds the station's own OpenCV wheel: opencv-python-headless with only the modules
# HemoScope uses (core, imgproc, imgcodecs, videoio) and a decode-only FFmpeg linked in.
#
# Why: the PyPI wheel carries every OpenCV module (dnn, calib, features, photo ...), an
# OpenBLAS for LAPACK, and a full FFmpeg with its AV1/VP9 encoders: 152 MB of the bundle.
# This build is about a tenth of that. It reads the same image formats (JPEG, PNG, TIFF,
# BMP, WebP, PPM/PGM, HDR; not JPEG 2000, OpenEXR or AVIF), opens the same cameras (V4L2)
# and plays the same recordings (MP4/MOV, AVI, MKV with H.264, HEVC, MPEG-4, MJPEG,
# VP8/VP9), from the same OpenCV release.
#
#   packaging/opencv/build-wheel.sh [PYTHON]   (default .venv/bin/python)
#
# Needs a C/C++ compiler, cmake, make, nasm and pkg-config, and the two source archives,
# fetched from PyPI and Debian and checked against the sha256 sums below. The wheel goes to
# packaging/wheels/; `make` installs it into the project's environment when its platform
# matches (see the Makefile), so the tests, the app and the bundle all run this OpenCV.
# Source paths are mapped out of the binary (-ffile-prefix-map). Takes about 8 minutes
# on 2 cores; WORK (default build/opencv) keeps the sources and the build, so a second run
# compiles only what changed.
set -euo pipefail

OPENCV_VERSION=5.0.0.93
OPENCV_SDIST=opencv_python_headless-$OPENCV_VERSION.tar.gz
OPENCV_URL=https://files.pythonhosted.org/packages/1d/99/76b7c80252aa83c1af16393454aafd125a0287101afe8deb0a6821af0e30/$OPENCV_SDIST
OPENCV_SHA256=b82f9831daab90b725c7c1ee1b36cb5732c367096ac76d119e64e14eb70d5f3c
FFMPEG_VERSION=5.1.9
FFMPEG_TARBALL=ffmpeg_$FFMPEG_VERSION.orig.tar.xz
FFMPEG_URL=https://deb.debian.org/debian/pool/main/f/ffmpeg/$FFMPEG_TARBALL
FFMPEG_SHA256=d9b593bb2ba93d4b50f74177e0cdcd41747e708596367deed0c30348a71dd176
# The wheel's local version names this build; bump it when the recipe changes.
LOCAL_VERSION=hemoscope.2

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PYTHON=${1:-$ROOT/.venv/bin/python}
WORK=${WORK:-$ROOT/build/opencv}
OUT=$ROOT/packaging/wheels
JOBS=${JOBS:-$(nproc)}
mkdir -p "$WORK" "$OUT"
cd "$WORK"

fetch() {  # fetch URL FILE SHA256
    if [ ! -f "$2" ]; then
        curl -fL --retry 3 -o "$2.part" "$1"
        mv "$2.part" "$2"
    fi
    echo "$3  $2" | sha256sum -c -
}
fetch "$OPENCV_URL" "$OPENCV_SDIST" "$OPENCV_SHA256"
fetch "$FFMPEG_URL" "$FFMPEG_TARBALL" "$FFMPEG_SHA256"

# --- FFmpeg: static, position-independent, decoders and demuxers for recordings only ---
FFPREFIX=$WORK/ffmpeg-prefix
if [ ! -f "$FFPREFIX/lib/libavcodec.a" ]; then
    rm -rf "ffmpeg-$FFMPEG_VERSION" && tar xJf "$FFMPEG_TARBALL"
    (
        cd "ffmpeg-$FFMPEG_VERSION"
        ./configure --prefix="$FFPREFIX" --enable-pic --enable-static --disable-shared \
            --disable-programs --disable-doc --disable-autodetect --disable-network \
            --disable-everything --disable-avdevice --disable-avfilter --disable-postproc \
            --enable-avcodec --enable-avformat --enable-swscale --enable-swresample \
            --enable-decoder=h264,hevc,mpeg4,mjpeg,vp8,vp9,rawvideo,mpeg2video,h263,png \
            --enable-demuxer=mov,avi,matroska,mjpeg,mpegts,mpegps,h264,hevc,rawvideo,image2 \
            --enable-parser=h264,hevc,mpeg4video,mpegvideo,vp8,vp9,mjpeg,png \
            --enable-bsf=h264_mp4toannexb,hevc_mp4toannexb,mpeg4_unpack_bframes \
            --enable-protocol=file --extra-cflags="-ffile-prefix-map=$WORK/="
        make -j"$JOBS"
        make install
    )
fi
# OpenCV links the libraries pkg-config names, in its own order (avcodec, avformat, avutil,
# swscale); for static archives every one of them must name the whole set in link order.
ALL_LIBS="-L$FFPREFIX/lib -lavformat -lavcodec -lswscale -lswresample -lavutil -lm -pthread"
for pc in "$FFPREFIX"/lib/pkgconfig/lib*.pc; do
    sed -i -e "s|^prefix=.*|prefix=$FFPREFIX|" -e "s|^libdir=.*|libdir=$FFPREFIX/lib|" \
        -e "s|^includedir=.*|includedir=$FFPREFIX/include|" -e "s|^Libs:.*|Libs: $ALL_LIBS|" \
        -e "s|^Libs.private:.*||" "$pc"
done

# --- OpenCV: the four modules and the Python bindings --------------------------------
SRC=$WORK/opencv_python_headless-$OPENCV_VERSION
# An existing tree is reused: an interrupted build goes on where it stopped.
[ -d "$SRC" ] || tar xzf "$OPENCV_SDIST"
# The typing stubs' hand refinements and aliases name classes of modules this build leaves
# out (Feature2D): skip those, so that cv2 keeps its stubs (mypy reads them).
"$PYTHON" - "$SRC/opencv/modules/python/src2/typing_stubs_generation" <<'PY'
import pathlib, sys

stubs = pathlib.Path(sys.argv[1])


def patch(name, old, new):
    path = stubs / name
    text = path.read_text()
    if new in text:
        return
    assert old in text, f"{path} changed: review this patch"
    path.write_text(text.replace(old, new))


patch(
    "api_refinement.py",
    """    for symbol_name, refine_symbol in NODES_TO_REFINE.items():
        refine_symbol(root, symbol_name)
""",
    """    for symbol_name, refine_symbol in NODES_TO_REFINE.items():
        try:
            refine_symbol(root, symbol_name)
        except (ScopeNotFoundError, SymbolNotFoundError):  # a module left out of the build
            pass
""",
)
patch(
    "api_refinement.py",
    "from .ast_utils import (find_function_node,",
    "from .ast_utils import (ScopeNotFoundError, SymbolNotFoundError, find_function_node,",
)
for alias in ("FeatureDetector", "DescriptorExtractor", "FeatureExtractor"):
    patch(
        "predefined_types.py",
        f'export_name="{alias}"),',
        f'export_name="{alias}", required_modules=("features",)),',
    )
PY
# A build environment of its own (the sdist's build requirements), kept between runs so
# that an interrupted or repeated build compiles only what changed.
BUILDENV=$WORK/build-env
if [ ! -x "$BUILDENV/bin/python" ]; then
    "$PYTHON" -m venv "$BUILDENV"
    "$BUILDENV/bin/python" -m pip install -q "numpy==2.0.2" "scikit-build>=0.18" \
        "setuptools==59.2.0" packaging wheel
fi
NUMPY_INCLUDE=$("$BUILDENV/bin/python" -c "import numpy; print(numpy.get_include())")
CMAKE_ARGS=$(tr '\n' ' ' <<'ARGS'
-DBUILD_LIST=core,imgproc,imgcodecs,videoio,python3
-DWITH_FFMPEG=ON -DOPENCV_FFMPEG_ENABLE_LIBAVDEVICE=OFF -DWITH_V4L=ON
-DWITH_GSTREAMER=OFF -DWITH_1394=OFF -DWITH_OBSENSOR=OFF -DWITH_VA=OFF -DWITH_VA_INTEL=OFF
-DWITH_IPP=OFF -DWITH_LAPACK=OFF -DWITH_OPENCL=OFF -DWITH_EIGEN=OFF -DWITH_ITT=OFF
-DWITH_PROTOBUF=OFF -DWITH_TBB=OFF -DWITH_OPENMP=OFF -DWITH_GTK=OFF -DWITH_QT=OFF
-DWITH_OPENEXR=OFF -DBUILD_OPENEXR=OFF -DWITH_OPENJPEG=OFF -DWITH_JASPER=OFF
-DWITH_AVIF=OFF -DWITH_GDAL=OFF -DWITH_GDCM=OFF
-DBUILD_JPEG=ON -DBUILD_PNG=ON -DBUILD_TIFF=ON -DBUILD_WEBP=ON -DBUILD_ZLIB=ON
-DPYTHON3_LIMITED_API=ON -DCMAKE_BUILD_TYPE=Release -DPYTHON3_NUMPY_INCLUDE_DIRS=@NUMPY@
-DCMAKE_C_FLAGS=-ffile-prefix-map=@WORK@/= -DCMAKE_CXX_FLAGS=-ffile-prefix-map=@WORK@/=
-DCMAKE_SHARED_LINKER_FLAGS=-Wl,--exclude-libs,ALL
-DCMAKE_MODULE_LINKER_FLAGS=-Wl,--exclude-libs,ALL
ARGS
)
CMAKE_ARGS=${CMAKE_ARGS//@NUMPY@/$NUMPY_INCLUDE}
CMAKE_ARGS=${CMAKE_ARGS//@WORK@/$WORK}
export CMAKE_ARGS ENABLE_HEADLESS=1 CMAKE_BUILD_PARALLEL_LEVEL=$JOBS
export PKG_CONFIG_PATH=$FFPREFIX/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
rm -rf "$WORK/dist"
"$BUILDENV/bin/python" -m pip wheel --no-build-isolation --no-deps -w "$WORK/dist" "$SRC"

# --- the wheel: debug symbols out, this build's local version in -----------------------
"$PYTHON" - "$WORK/dist" "$OUT" "$OPENCV_VERSION" "$LOCAL_VERSION" <<'PY'
import pathlib, shutil, subprocess, sys, tempfile, zipfile

dist, out = map(pathlib.Path, sys.argv[1:3])
version, local = sys.argv[3:5]
(wheel,) = dist.glob("opencv_python_headless-*.whl")
new_version = f"{version}+{local}"
with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    zipfile.ZipFile(wheel).extractall(tmp)
    for so in tmp.rglob("*.so"):
        subprocess.run(["strip", "--strip-unneeded", str(so)], check=True)
    (info,) = tmp.glob("*.dist-info")
    meta = info / "METADATA"
    meta.write_text(meta.read_text().replace(f"Version: {version}\n", f"Version: {new_version}\n", 1))
    info = info.rename(tmp / f"opencv_python_headless-{new_version}.dist-info")
    (info / "RECORD").unlink()
    for old in out.glob("opencv_python_headless-*.whl"):
        old.unlink()
    subprocess.run([sys.executable, "-m", "wheel", "pack", str(tmp), "-d", str(out)], check=True)
print("\n".join(str(p) for p in out.glob("opencv_python_headless-*.whl")))
PY
