// Corrections to the Embedded Swift runtime that the static build links (cross/build);
// the host build uses the full runtime in libswiftCore and compiles nothing here.
#ifdef KINGLET_STATIC_DEPS
#include <stdint.h>

// Swift 6.3's Embedded runtime (stdlib/public/core/EmbeddedRuntime.swift) returns the
// object it retained with the BridgeObject bits masked off (& 0x8fff_ffff_ffff_fff8 on
// 64-bit), yet the compiler declares the first parameter `returned` and relies on getting
// it back unchanged. AArch64's backend reuses x0 after the call instead of keeping the
// value in a saved register, so the masked word is what gets stored: a String copied that
// way loses its discriminator (the empty string's 0xE000... becomes 0x8000..., read later
// as a "shared" string, which traps). Fixed upstream in swiftlang/swift#91151; these strong
// definitions replace the runtime's weak ones until the toolchain has it.
void *swift_retain_n(void *object, uint32_t n);

void *swift_bridgeObjectRetain_n(void *object, uint32_t n) {
#if UINTPTR_MAX > 0xFFFFFFFFu
    // The native object under a BridgeObject: without the tag bits (b60-b62) and the low
    // spare bits. An immortal value keeps b63, which swift_retain_n skips.
    swift_retain_n((void *)((uintptr_t)object & UINT64_C(0x8FFFFFFFFFFFFFF8)), n);
#else
    swift_retain_n(object, n); // 32-bit BridgeObjects carry no tag bits
#endif
    return object;
}

void *swift_bridgeObjectRetain(void *object) { return swift_bridgeObjectRetain_n(object, 1); }
#endif
