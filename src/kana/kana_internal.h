/* Private declarations shared by the kana stand-in's files (FreeType headers stay out of the
 * public kenyon/kana.h). */
#ifndef KENYON_KANA_INTERNAL_H
#define KENYON_KANA_INTERNAL_H

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_OUTLINE_H
#include FT_BBOX_H

#include "kenyon/kana.h"

#endif
