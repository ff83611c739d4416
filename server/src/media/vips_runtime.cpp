#include "media/vips_runtime.hpp"

#include <vips/vips.h>

#include <mutex>

namespace parley::media::detail {

bool ensure_vips() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] {
    if (VIPS_INIT("parleyd") != 0) return;
    vips_concurrency_set(1);
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);
    // An allow-list of loaders (documented example of vips_operation_block_set).
    vips_operation_block_set("VipsForeignLoad", TRUE);
    for (const char* loader : {"VipsForeignLoadJpeg", "VipsForeignLoadPng", "VipsForeignLoadWebp",
                               "VipsForeignLoadNsgif", "VipsForeignLoadHeif"}) {
      vips_operation_block_set(loader, FALSE);
    }
    vips_block_untrusted_set(TRUE);
    // libvips reports decoding trouble twice: as the error we return, and as
    // GLib warnings on stderr ("error in tile ..."), one per tile. A hostile
    // upload could flood the log with them, and the returned error already
    // says everything, so the warnings of the VIPS domain are dropped.
    g_log_set_handler(
        "VIPS", static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE),
        [](const gchar*, GLogLevelFlags, const gchar*, gpointer) {}, nullptr);
    ok = true;
  });
  return ok;
}

}  // namespace parley::media::detail
