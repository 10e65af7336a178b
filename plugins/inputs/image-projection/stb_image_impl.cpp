// stb_image's implementation, in a file of its own so that the sanitizer
// builds can leave out one UBSan check for it alone (CMakeLists.txt): a PNG
// whose first IDAT chunk is empty makes stbi__getn call memcpy(NULL, p, 0)
// (the "nonnull-attribute" check; image fuzz campaign, #18). Copying zero
// bytes is harmless and Debian's stb cannot be patched here; a test decodes
// such a PNG so the sanitizer suite keeps checking that nothing else fires.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb/stb_image.h>
