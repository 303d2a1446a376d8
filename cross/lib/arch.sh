# Sourced by the cross/ scripts: per-architecture facts for the static musl builds.
# Usage: . cross/lib/arch.sh; kinglet_arch aarch64|armv7|x86_64

KINGLET_ARCHES="aarch64 armv7 x86_64"
SWIFT_BIN=${SWIFT_BIN:-/opt/swift/usr/bin}
CROSS_CACHE=${KINGLET_CROSS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kinglet-cross}

die() { echo "cross: $*" >&2; exit 1; }
step() { echo "==> $*"; }

kinglet_arch() {
    ARCH=$1
    case "$ARCH" in
    aarch64)
        SWIFT_TARGET=aarch64-none-none-elf
        CLANG_TARGET=aarch64-linux-musl
        MUSL_TRIPLE=aarch64-linux-musl
        DEB_ARCH=arm64
        GNU_TRIPLE=aarch64-linux-gnu
        KERNEL_INCLUDE=/usr/aarch64-linux-gnu/include
        OPENSSL_TARGET=linux-aarch64
        ARCH_CFLAGS=""
        QEMU=qemu-aarch64-static
        ;;
    armv7)
        # Soft-float EABI against Debian's armel musl: one binary for every ARMv7 Linux.
        SWIFT_TARGET=armv7-none-none-eabi
        CLANG_TARGET=armv7-linux-musleabi
        MUSL_TRIPLE=arm-linux-musleabi
        DEB_ARCH=armel
        GNU_TRIPLE=arm-linux-gnueabi
        KERNEL_INCLUDE=/usr/arm-linux-gnueabi/include
        OPENSSL_TARGET=linux-armv4
        ARCH_CFLAGS="-mfloat-abi=soft"
        QEMU=qemu-arm-static
        ;;
    x86_64)
        SWIFT_TARGET=x86_64-unknown-linux-gnu
        CLANG_TARGET=x86_64-linux-musl
        MUSL_TRIPLE=x86_64-linux-musl
        DEB_ARCH=amd64
        GNU_TRIPLE=x86_64-linux-gnu
        KERNEL_INCLUDE=/usr/include
        OPENSSL_TARGET=linux-x86_64
        ARCH_CFLAGS=""
        QEMU=""
        ;;
    *) die "unknown architecture '$ARCH' (expected one of: $KINGLET_ARCHES)" ;;
    esac
    MUSL_INCLUDE=/usr/include/$MUSL_TRIPLE
    MUSL_LIB=/usr/lib/$MUSL_TRIPLE
    if [ "$ARCH" = x86_64 ]; then
        LIBGCC=$(ls /usr/lib/gcc/x86_64-linux-gnu/*/libgcc.a 2>/dev/null | sort -V | tail -n 1)
        KERNEL_ASM=/usr/include/x86_64-linux-gnu/asm
    else
        LIBGCC=$(ls /usr/lib/gcc-cross/$GNU_TRIPLE/*/libgcc.a 2>/dev/null | sort -V | tail -n 1)
        KERNEL_ASM=$KERNEL_INCLUDE/asm
    fi
    PREFIX=$CROSS_CACHE/$ARCH
    # Only linux/, asm/ and asm-generic/ of the kernel headers: glibc's whole include
    # folder on the path would shadow musl's headers.
    KERNEL_HEADERS=$PREFIX/kernel-include
    CC_FLAGS="--target=$CLANG_TARGET $ARCH_CFLAGS -nostdlibinc -isystem $MUSL_INCLUDE -idirafter $KERNEL_HEADERS -Os -ffunction-sections -fdata-sections"
    CC="$SWIFT_BIN/clang"
    AR="$SWIFT_BIN/llvm-ar"
    RANLIB="$SWIFT_BIN/llvm-ranlib"
    EMBEDDED_LIB=/opt/swift/usr/lib/swift/embedded/$SWIFT_TARGET
}

# Links the three kernel header folders into $KERNEL_HEADERS.
kinglet_kernel_headers() {
    mkdir -p "$KERNEL_HEADERS"
    ln -sfn "$KERNEL_INCLUDE/linux" "$KERNEL_HEADERS/linux"
    ln -sfn "$KERNEL_ASM" "$KERNEL_HEADERS/asm"
    ln -sfn "$KERNEL_INCLUDE/asm-generic" "$KERNEL_HEADERS/asm-generic"
}
