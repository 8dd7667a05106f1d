/*
 * CRC-64/XZ (ECMA-182, reflected, init and xorout all ones) as a Node-API addon.
 *
 * Two kernels, chosen once at load time:
 *  - clmul: PCLMULQDQ folding, 4 lanes x 16 bytes per step (x86-64 CPUs with PCLMUL, i.e. since ~2010);
 *  - table: slice-by-16, for any other CPU or architecture.
 * Both continue a finished CRC, like the JS fallback: crc64(b, crc64(a)) == crc64(a || b).
 *
 * Representation: a 64-bit "reflected" value v stands for the polynomial sum v_i x^(63-i) (bit 63 = x^0),
 * the same as the CRC register. For such a and b, the 128-bit carry-less product, read the same way over 128
 * bits, is x*a*b; hence the fold constants below are x^(n-1) mod P rather than x^n mod P.
 */
#include <node_api.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define POLY 0xC96C5795D7870F42ULL

static uint64_t table[16][256];

static void init_table(void) {
  for (int b = 0; b < 256; b++) {
    uint64_t c = (uint64_t)b;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
    table[0][b] = c;
  }
  for (int k = 1; k < 16; k++)
    for (int b = 0; b < 256; b++) {
      uint64_t c = table[k - 1][b];
      table[k][b] = (c >> 8) ^ table[0][c & 0xff];
    }
}

static inline uint64_t load64le(const uint8_t* p) {
  uint64_t v;
  memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

/* Register in, register out (no init/xorout conditioning). */
static uint64_t crc_table(uint64_t crc, const uint8_t* p, size_t n) {
  while (n >= 16) {
    uint64_t a = crc ^ load64le(p);
    uint64_t b = load64le(p + 8);
    crc = table[15][a & 0xff] ^ table[14][(a >> 8) & 0xff] ^ table[13][(a >> 16) & 0xff] ^
          table[12][(a >> 24) & 0xff] ^ table[11][(a >> 32) & 0xff] ^ table[10][(a >> 40) & 0xff] ^
          table[9][(a >> 48) & 0xff] ^ table[8][a >> 56] ^ table[7][b & 0xff] ^ table[6][(b >> 8) & 0xff] ^
          table[5][(b >> 16) & 0xff] ^ table[4][(b >> 24) & 0xff] ^ table[3][(b >> 32) & 0xff] ^
          table[2][(b >> 40) & 0xff] ^ table[1][(b >> 48) & 0xff] ^ table[0][b >> 56];
    p += 16;
    n -= 16;
  }
  while (n--) crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
  return crc;
}

static uint64_t (*crc_kernel)(uint64_t, const uint8_t*, size_t) = crc_table;
static const char* kernel_name = "table";

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_CLMUL_KERNEL 1

/* x^n mod P, reflected. */
static uint64_t xpow_mod(unsigned n) {
  uint64_t p = 1ULL << 63;
  while (n--) p = (p & 1) ? (p >> 1) ^ POLY : p >> 1;
  return p;
}

/* Fold constants: {lo, hi} multiply the low (earlier) and high qword of a lane forward by D bytes. */
static uint64_t k_fold64[2], k_fold16[2];

static void init_clmul_constants(void) {
  k_fold64[0] = xpow_mod(64 * 8 + 64 - 1); /* 64-byte stride: x^(512+64-1), x^(512-1) */
  k_fold64[1] = xpow_mod(64 * 8 - 1);
  k_fold16[0] = xpow_mod(16 * 8 + 64 - 1); /* 16-byte stride: x^(128+64-1), x^(128-1) */
  k_fold16[1] = xpow_mod(16 * 8 - 1);
}

__attribute__((target("pclmul,sse2"))) static inline __m128i fold(__m128i x, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

__attribute__((target("pclmul,sse2"))) static uint64_t crc_clmul(uint64_t crc, const uint8_t* p, size_t n) {
  if (n < 64) return crc_table(crc, p, n);
  const __m128i k64 = _mm_set_epi64x((long long)k_fold64[1], (long long)k_fold64[0]);
  const __m128i k16 = _mm_set_epi64x((long long)k_fold16[1], (long long)k_fold16[0]);
  /* The register is XORed into the first 8 message bytes (reflected CRC, little-endian load). */
  __m128i x0 = _mm_xor_si128(_mm_loadu_si128((const __m128i*)p), _mm_cvtsi64_si128((long long)crc));
  __m128i x1 = _mm_loadu_si128((const __m128i*)(p + 16));
  __m128i x2 = _mm_loadu_si128((const __m128i*)(p + 32));
  __m128i x3 = _mm_loadu_si128((const __m128i*)(p + 48));
  p += 64;
  n -= 64;
  while (n >= 64) {
    x0 = _mm_xor_si128(fold(x0, k64), _mm_loadu_si128((const __m128i*)p));
    x1 = _mm_xor_si128(fold(x1, k64), _mm_loadu_si128((const __m128i*)(p + 16)));
    x2 = _mm_xor_si128(fold(x2, k64), _mm_loadu_si128((const __m128i*)(p + 32)));
    x3 = _mm_xor_si128(fold(x3, k64), _mm_loadu_si128((const __m128i*)(p + 48)));
    p += 64;
    n -= 64;
  }
  /* Merge the lanes, then absorb whole 16-byte blocks. */
  __m128i x = _mm_xor_si128(fold(x0, k16), x1);
  x = _mm_xor_si128(fold(x, k16), x2);
  x = _mm_xor_si128(fold(x, k16), x3);
  while (n >= 16) {
    x = _mm_xor_si128(fold(x, k16), _mm_loadu_si128((const __m128i*)p));
    p += 16;
    n -= 16;
  }
  /* x is now 16 message bytes (with everything before folded in) followed by a < 16-byte tail: a plain
   * CRC of those bytes from a zero register finishes the reduction mod P. */
  uint8_t last[16];
  _mm_storeu_si128((__m128i*)last, x);
  return crc_table(crc_table(0, last, 16), p, n);
}
#endif

/* Runs once per process, even when several worker threads load the addon. */
static void init_kernels(void) {
  init_table();
#ifdef HAVE_CLMUL_KERNEL
  __builtin_cpu_init();
  if (__builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse2")) {
    init_clmul_constants();
    crc_kernel = crc_clmul;
    kernel_name = "clmul";
  }
#endif
}
static pthread_once_t kernels_once = PTHREAD_ONCE_INIT;

/* ---- Node-API glue ---- */

#define CHECK(env, call)                                       \
  do {                                                         \
    if ((call) != napi_ok) {                                   \
      napi_throw_error((env), NULL, "crc64: " #call " failed"); \
      return NULL;                                             \
    }                                                          \
  } while (0)

/* (data: Uint8Array, crc: bigint) => bigint, with `kernel` choosing the implementation. */
static napi_value run(napi_env env, napi_callback_info info, uint64_t (*kernel)(uint64_t, const uint8_t*, size_t)) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "crc64: expected (Uint8Array, bigint)");
    return NULL;
  }
  bool is_ta = false;
  CHECK(env, napi_is_typedarray(env, argv[0], &is_ta));
  if (!is_ta) {
    napi_throw_type_error(env, NULL, "crc64: data must be a Uint8Array");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length;
  void* data;
  CHECK(env, napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL));
  if (type != napi_uint8_array && type != napi_uint8_clamped_array) {
    napi_throw_type_error(env, NULL, "crc64: data must be a Uint8Array");
    return NULL;
  }
  uint64_t crc;
  bool lossless = false;
  if (napi_get_value_bigint_uint64(env, argv[1], &crc, &lossless) != napi_ok) {
    napi_throw_type_error(env, NULL, "crc64: crc must be a bigint");
    return NULL;
  }
  if (!lossless) {
    napi_throw_range_error(env, NULL, "crc64: crc must be an unsigned 64-bit value");
    return NULL;
  }
  /* data is NULL for an empty (or detached) array: nothing to read. */
  if (length > 0) crc = ~kernel(~crc, (const uint8_t*)data, length);
  napi_value out;
  CHECK(env, napi_create_bigint_uint64(env, crc, &out));
  return out;
}

static napi_value crc64_auto(napi_env env, napi_callback_info info) { return run(env, info, crc_kernel); }
static napi_value crc64_table(napi_env env, napi_callback_info info) { return run(env, info, crc_table); }

static napi_value init(napi_env env, napi_value exports) {
  pthread_once(&kernels_once, init_kernels);
  napi_value fn_auto, fn_table, name;
  CHECK(env, napi_create_function(env, "crc64", NAPI_AUTO_LENGTH, crc64_auto, NULL, &fn_auto));
  CHECK(env, napi_create_function(env, "crc64Table", NAPI_AUTO_LENGTH, crc64_table, NULL, &fn_table));
  CHECK(env, napi_create_string_utf8(env, kernel_name, NAPI_AUTO_LENGTH, &name));
  CHECK(env, napi_set_named_property(env, exports, "crc64", fn_auto));
  CHECK(env, napi_set_named_property(env, exports, "crc64Table", fn_table));
  CHECK(env, napi_set_named_property(env, exports, "kernel", name));
  return exports;
}

NAPI_MODULE(crc64, init)
