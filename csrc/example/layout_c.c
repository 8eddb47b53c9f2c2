/* layout_c.c - the C view of the layout table (layout.h), compiled as C and
 * linked into cpp_pingpong, which compares it with its C++ view. */
#include "layout.h"

SR_C_LAYOUT_TABLE(sr_layout_c)
