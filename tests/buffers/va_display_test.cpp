// SPDX-License-Identifier: MIT
// DrmRenderNode and VaDisplay: clean errors for bad nodes; real displays only where a GPU is
// (VaDisplayGpuTest.* skip with the reason otherwise; CTest label gpu).
#include "buffers/drm_render_node.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#ifdef VDEC_HAVE_VAAPI
#include "buffers/va_display.h"
#include "buffers/va_surface.h"
#endif

namespace vdec::buffers {
namespace {

using ::testing::HasSubstr;

TEST(DrmRenderNodeTest, MissingPathIsACleanError) {
  auto node = DrmRenderNode::open("/nonexistent/dri/renderD128");
  ASSERT_FALSE(node.has_value());
  EXPECT_EQ(node.error().code, ErrorCode::kUnsupported);
  EXPECT_THAT(node.error().message, HasSubstr("/nonexistent/dri/renderD128"));
  EXPECT_THAT(node.error().message, HasSubstr("No such file"));
}

TEST(DrmRenderNodeTest, CharacterDeviceThatIsNoRenderNodeIsRefused) {
  auto node = DrmRenderNode::open("/dev/null");
  ASSERT_FALSE(node.has_value());
  EXPECT_THAT(node.error().message, HasSubstr("/dev/null is not a DRM render node"));
}

TEST(DrmRenderNodeTest, RegularFileIsRefused) {
  auto node = DrmRenderNode::open("/proc/self/status");
  ASSERT_FALSE(node.has_value());
  EXPECT_THAT(node.error().message, HasSubstr("not a character device"));
}

TEST(DrmRenderNodeTest, ListSaysWhyThereIsNone) {
  std::string why;
  const std::vector<std::string> nodes = DrmRenderNode::list(&why);
  if (nodes.empty()) {
    EXPECT_THAT(why, HasSubstr(DrmRenderNode::kDriDirectory));
  } else {
    for (const std::string& node : nodes) EXPECT_THAT(node, HasSubstr("/renderD"));
  }
}

#ifdef VDEC_HAVE_VAAPI

TEST(VaDisplayTest, BogusRenderNodeIsACleanError) {
  auto display = VaDisplay::open("/nonexistent/dri/renderD128");
  ASSERT_FALSE(display.has_value());
  EXPECT_EQ(display.error().code, ErrorCode::kUnsupported);
  EXPECT_THAT(display.error().message, HasSubstr("/nonexistent/dri/renderD128"));
}

TEST(VaDisplayTest, NonRenderNodeIsRefusedBeforeLibva) {
  auto display = VaDisplay::open("/dev/null");
  ASSERT_FALSE(display.has_value());
  EXPECT_THAT(display.error().message, HasSubstr("not a DRM render node"));
}

TEST(VaDisplayTest, DefaultFailsWithTheReasonOrOpens) {
  auto display = VaDisplay::open();
  if (!display) {
    // No GPU: "no DRM render node (/dev/dri does not exist)" or the vaInitialize() failures.
    EXPECT_FALSE(display.error().message.empty());
    EXPECT_EQ(display.error().code, ErrorCode::kUnsupported);
  } else {
    EXPECT_FALSE((*display)->vendor().empty());
  }
}

TEST(VaDisplayGpuTest, OpensDefaultRenderNode) {
  auto display = VaDisplay::open();
  if (!display) GTEST_SKIP() << "no VA-API display: " << display.error().message;
  EXPECT_FALSE((*display)->vendor().empty());
  EXPECT_THAT((*display)->renderNodePath(), HasSubstr("renderD"));
  EXPECT_GE((*display)->majorVersion(), 1);
  auto surface = VaSurface::create(*display, VA_RT_FORMAT_YUV420, VA_FOURCC_NV12, 64, 64);
  ASSERT_TRUE(surface.has_value()) << surface.error().message;
  EXPECT_TRUE((*surface)->sync().has_value());
}

#else

TEST(VaDisplayGpuTest, OpensDefaultRenderNode) {
  GTEST_SKIP() << "built without VA-API (libva/libdrm not found at configure time)";
}

#endif

}  // namespace
}  // namespace vdec::buffers
