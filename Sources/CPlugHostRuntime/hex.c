#include "ph_runtime.h"

void ph_rt_hex(const uint8_t *bytes, size_t count, uint8_t *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < count; i++) {
        out[2 * i] = (uint8_t)digits[bytes[i] >> 4];
        out[2 * i + 1] = (uint8_t)digits[bytes[i] & 0xF];
    }
}
