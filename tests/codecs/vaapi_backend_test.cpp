// SPDX-License-Identifier: MIT
// Backend selection (auto/ffmpeg/vaapi), the VA-API path decisions, VA profile mapping, and
// hardware decoding where a VA driver exists (VaapiSessionGpuTest.*; CTest label gpu).
#include "codecs/backend_factory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "buffers/output_path.h"
#include "buffers/udmabuf.h"
#include "buffers/va_dma_buf_resource.h"
#include "tests/codecs/session_driver.h"
#include "tests/codecs/stream_files.h"
#include "tests/codecs/vector_memory.h"
#include "tests/fakes/fake_decoder_backend.h"
#include "tests/test_paths.h"

#ifdef VDEC_HAVE_VAAPI
#include "codecs/vaapi_backend.h"
#include "codecs/vaapi_profiles.h"
#endif

namespace vdec::codecs::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kBogusNode[] = "/nonexistent/dri/renderD128";

TEST(BackendFactoryTest, AutoFallsBackToFfmpegAndSaysWhy) {
  auto selection = makeBackend("auto", kBogusNode);
  ASSERT_TRUE(selection.has_value()) << selection.error().message;
  EXPECT_EQ(selection->backend->name(), "ffmpeg");
  EXPECT_THAT(selection->note, HasSubstr("VA-API unavailable"));
  EXPECT_THAT(selection->note, HasSubstr(kBogusNode));
  EXPECT_THAT(selection->note, HasSubstr("software decoding"));
}

TEST(BackendFactoryTest, AutoOnThisHostUsesVaapiOnlyWhenADriverInitializes) {
  auto selection = makeBackend("auto", "");
  ASSERT_TRUE(selection.has_value()) << selection.error().message;
  if (selection->backend->name() == "ffmpeg") {
    EXPECT_THAT(selection->note, HasSubstr("VA-API unavailable: "));
  } else {
    EXPECT_THAT(selection->backend->name(), StartsWith("auto (vaapi"));
  }
}

TEST(BackendFactoryTest, ExplicitVaapiThatIsUnavailableIsAnError) {
  auto selection = makeBackend("vaapi", kBogusNode);
  ASSERT_FALSE(selection.has_value());
  EXPECT_EQ(selection.error().code, ErrorCode::kUnsupported);
  EXPECT_THAT(selection.error().message, HasSubstr("--backend vaapi: VA-API unavailable"));
  EXPECT_THAT(selection.error().message, HasSubstr(kBogusNode));
}

TEST(BackendFactoryTest, FfmpegAndUnknownNames) {
  auto ffmpeg = makeBackend("ffmpeg", kBogusNode);
  ASSERT_TRUE(ffmpeg.has_value());
  EXPECT_EQ(ffmpeg->backend->name(), "ffmpeg");
  auto unknown = makeBackend("cuda", "");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, ErrorCode::kInvalidParameter);
}

// A backend that decodes only VP8 (for routing tests).
class Vp8OnlyBackend final : public DecoderBackend {
 public:
  std::string name() const override { return "vp8only"; }
  std::vector<CodecCapability> capabilities() const override {
    CodecCapability cap;
    cap.format = CodedFormat::kVp8;
    cap.profiles = {CodecProfile::kVp8Profile0};
    cap.maxWidth = cap.maxHeight = 1920;
    return {cap};
  }
  std::vector<buffers::PixelFormat> outputFormats() const override {
    return {buffers::PixelFormat::kNv12};
  }
  Result<std::unique_ptr<DecoderSession>> createSession(CodedFormat,
                                                        const SessionOptions& options) override {
    ++sessions;
    return std::unique_ptr<DecoderSession>(
        std::make_unique<vdec::testing::FakeDecoderSession>(options.notify));
  }
  int sessions = 0;
};

TEST(AutoBackendTest, RoutesPerCodecAndFallsBackWhenTheHardwareSessionFails) {
  auto hardware = std::make_shared<vdec::testing::FakeDecoderBackend>();  // h264, vp9
  auto software = std::make_shared<Vp8OnlyBackend>();
  AutoBackend backend(hardware, software);
  EXPECT_EQ(backend.name(), "auto (fake, vp8only)");

  ASSERT_TRUE(backend.createSession(CodedFormat::kH264, {}).has_value());
  EXPECT_EQ(hardware->sessionsCreated, 1);
  ASSERT_TRUE(backend.createSession(CodedFormat::kVp8, {}).has_value());  // not on hardware
  EXPECT_EQ(software->sessions, 1);
  hardware->failCreate = true;
  ASSERT_TRUE(backend.createSession(CodedFormat::kVp9, {}).has_value());  // refused: software
  EXPECT_EQ(hardware->sessionsCreated, 1);
  EXPECT_EQ(software->sessions, 2);
}

TEST(AutoBackendTest, CapabilitiesAreTheUnion) {
  AutoBackend backend(std::make_shared<vdec::testing::FakeDecoderBackend>(),
                      std::make_shared<Vp8OnlyBackend>());
  std::vector<CodecCapability> caps = backend.capabilities();
  ASSERT_EQ(caps.size(), 3u);
  EXPECT_EQ(caps[0].format, CodedFormat::kH264);
  EXPECT_EQ(caps[2].format, CodedFormat::kVp8);
  EXPECT_EQ(caps[2].maxWidth, 1920u);

  using P = CodecProfile;
  using L = CodecLevel;
  CodecCapability a{CodedFormat::kH264, {P::kH264Main, P::kH264High}, {L::kH264_1_1, L::kH264_1_2},
                    16, 4096, 16, 2304};
  CodecCapability b{CodedFormat::kH264, {P::kH264Baseline, P::kH264High}, {L::kH264_1_3},
                    32, 8192, 8, 4096};
  std::vector<CodecCapability> merged = mergeCapabilities({a}, {b});
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_THAT(merged[0].profiles, ElementsAre(P::kH264Baseline, P::kH264Main, P::kH264High));
  EXPECT_THAT(merged[0].levels, ElementsAre(L::kH264_1_1, L::kH264_1_2, L::kH264_1_3));
  EXPECT_EQ(merged[0].minWidth, 16u);
  EXPECT_EQ(merged[0].maxWidth, 8192u);
  EXPECT_EQ(merged[0].minHeight, 8u);
  EXPECT_EQ(merged[0].maxHeight, 4096u);
}

// The VA-API rows of the zero-copy matrix, decided by the one decision function.
class VaOutputPathTest : public ::testing::Test {
 protected:
  buffers::FrameLayout layout_ =
      *buffers::computeFrameLayout(buffers::PixelFormat::kNv12, 320, 240, {0, 0, 320, 240});
  VectorMemory memory_{layout_.totalSize()};
  buffers::OutputPathPolicy va() const {
    buffers::OutputPathPolicy policy;
    policy.softwareDecoder = false;
    return policy;
  }
};

TEST_F(VaOutputPathTest, ImportedDmaBufIsDecodedInto) {
  auto policy = va();
  policy.vaImportsDmaBuf = true;
  policy.vaCanBlit = true;
  EXPECT_EQ(decideOutputPath(memory_, layout_, policy).path, buffers::OutputPath::kDirect);
}

TEST_F(VaOutputPathTest, RefusedImportWithVppIsABlit) {
  auto policy = va();
  policy.vaCanBlit = true;
  auto decision = decideOutputPath(memory_, layout_, policy);
  EXPECT_EQ(decision.path, buffers::OutputPath::kBlit);
  EXPECT_THAT(decision.reason, HasSubstr("VPP blit"));
}

TEST_F(VaOutputPathTest, NoBlitIsABounceThatNamesTheMissingUdmabuf) {
  auto policy = va();
  policy.udmabufAvailable = buffers::Udmabuf::isAvailable();  // false on hosts without it
  auto decision = decideOutputPath(memory_, layout_, policy);
  EXPECT_EQ(decision.path, buffers::OutputPath::kBounce);
  if (!policy.udmabufAvailable) {
    EXPECT_THAT(decision.reason, HasSubstr("/dev/udmabuf missing"));
  }
  policy.udmabufAvailable = true;
  EXPECT_THAT(decideOutputPath(memory_, layout_, policy).reason, HasSubstr("import refused"));
}

TEST_F(VaOutputPathTest, ForcedBounceAndSmallResourcesWin) {
  auto policy = va();
  policy.vaImportsDmaBuf = true;
  policy.forceBounce = true;
  EXPECT_EQ(decideOutputPath(memory_, layout_, policy).path, buffers::OutputPath::kBounce);
  policy.forceBounce = false;
  VectorMemory small(layout_.totalSize() - 1);
  EXPECT_EQ(decideOutputPath(small, layout_, policy).path, buffers::OutputPath::kBounce);
}

#ifdef VDEC_HAVE_VAAPI

TEST(VaapiProfilesTest, MapsTheEightBit420Profiles) {
  auto h264 = codecProfilesForVa(VAProfileH264ConstrainedBaseline);
  ASSERT_EQ(h264.size(), 1u);
  EXPECT_EQ(h264[0].format, CodedFormat::kH264);
  EXPECT_EQ(h264[0].profile, CodecProfile::kH264Baseline);
  EXPECT_EQ(codecProfilesForVa(VAProfileH264High)[0].profile, CodecProfile::kH264High);
  EXPECT_EQ(codecProfilesForVa(VAProfileHEVCMain)[0].profile, CodecProfile::kHevcMain);
  EXPECT_EQ(codecProfilesForVa(VAProfileVP8Version0_3).size(), 4u);
  EXPECT_EQ(codecProfilesForVa(VAProfileVP9Profile0)[0].format, CodedFormat::kVp9);
  EXPECT_EQ(codecProfilesForVa(VAProfileAV1Profile0)[0].profile, CodecProfile::kAv1Main);
  for (VAProfile unused : {VAProfileHEVCMain10, VAProfileVP9Profile2, VAProfileJPEGBaseline,
                           VAProfileMPEG2Main, VAProfileAV1Profile1}) {
    EXPECT_TRUE(codecProfilesForVa(unused).empty()) << vaProfileName(unused);
  }
}

TEST(VaapiProfilesTest, CapabilitiesPerCodecWithTheLargestSize) {
  std::vector<buffers::VaDecodeProfile> profiles = {
      {VAProfileH264Main, 4096, 2304}, {VAProfileH264High, 4096, 4096},
      {VAProfileHEVCMain10, 8192, 8192}, {VAProfileVP9Profile0, 8192, 8192}};
  std::vector<CodecCapability> caps = vaCapabilities(profiles);
  ASSERT_EQ(caps.size(), 2u);
  EXPECT_EQ(caps[0].format, CodedFormat::kH264);
  EXPECT_THAT(caps[0].profiles, ElementsAre(CodecProfile::kH264Main, CodecProfile::kH264High));
  EXPECT_FALSE(caps[0].levels.empty());
  EXPECT_EQ(caps[0].maxHeight, 4096u);
  EXPECT_EQ(caps[1].format, CodedFormat::kVp9);
  EXPECT_TRUE(vaCapabilities({{VAProfileHEVCMain10, 8192, 8192}}).empty());
}

TEST(VaapiBackendTest, CreateFailsWithTheReason) {
  auto backend = VaapiBackend::create(kBogusNode);
  ASSERT_FALSE(backend.has_value());
  EXPECT_THAT(backend.error().message, HasSubstr(kBogusNode));
}

// ---- hardware decoding: per-frame md5s of test-25fps.h264 ----

constexpr char kH264[] = "h264/chromium-test-25fps/test-25fps.h264";
constexpr uint32_t kTargets = 20;

// Plays the device against a VA-API session: answers FormatChanged with an NV12 layout, hashes
// each picture's visible area as I420, re-queues every resource at once.
class VaDriver {
 public:
  using MemoryFactory =
      std::function<std::shared_ptr<buffers::ResourceMemory>(uint32_t, const buffers::FrameLayout&)>;

  VaDriver(DecoderBackend& backend, MemoryFactory factory) : factory_(std::move(factory)) {
    SessionOptions options;
    options.notify = [this] {
      std::lock_guard lock(mutex_);
      notified_ = true;
      cv_.notify_one();
    };
    auto session = backend.createSession(CodedFormat::kH264, options);
    if (!session) {
      ADD_FAILURE() << session.error().message;
    } else {
      session_ = std::move(*session);
    }
  }
  ~VaDriver() { session_.reset(); }

  bool run(const std::vector<uint8_t>& stream, size_t frames) {
    if (!session_) return false;
    for (const auto& chunk : chunks(stream, 4096)) session_->decode(nextInput_++, 0, chunk);
    session_->flush();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!flushed_) {
      for (const DecoderEvent& event : session_->takeEvents()) handle(event);
      if (flushed_ || !errors.empty()) break;
      std::unique_lock lock(mutex_);
      if (!cv_.wait_until(lock, deadline, [this] { return notified_; })) return false;
      notified_ = false;
    }
    return md5s.size() == frames;
  }

  std::vector<std::string> md5s;
  std::map<buffers::OutputPath, int> paths;
  std::vector<std::string> errors;

 private:
  void handle(const DecoderEvent& event) {
    if (const auto* changed = std::get_if<FormatChanged>(&event)) {
      visible_ = changed->format.visible;
      // As the device does: the strides and heights the session asks for direct decoding.
      layout_ = *buffers::computeFrameLayout(
          buffers::PixelFormat::kNv12, changed->format.codedWidth, changed->format.codedHeight,
          visible_, changed->format.strideAlign, changed->format.heightAlign);
      session_->clearOutput();
      memories_.clear();
      for (uint32_t id = 1; id <= kTargets; ++id) {
        memories_[id] = factory_(id, layout_);
        session_->queueOutput({id, memories_[id]});
      }
      session_->setOutputLayout(layout_);
    } else if (const auto* ready = std::get_if<PictureReady>(&event)) {
      if (!ready->endOfStream) {
        md5s.push_back(ready->error ? "error" : md5Hex(visibleI420(*memories_.at(ready->resourceId))));
        ++paths[ready->path];
      }
      session_->queueOutput({ready->resourceId, memories_.at(ready->resourceId)});
    } else if (std::holds_alternative<FlushDone>(event)) {
      flushed_ = true;
    } else if (const auto* error = std::get_if<StreamError>(&event)) {
      errors.push_back(error->message);
    }
  }

  std::vector<uint8_t> visibleI420(buffers::ResourceMemory& memory) const {
    std::vector<uint8_t> out;
    std::vector<uint8_t> row(layout_.planes[0].stride);
    auto readRow = [&](uint64_t offset, size_t bytes) {
      row.resize(bytes);
      EXPECT_TRUE(memory.read(offset, std::as_writable_bytes(std::span(row))).has_value());
    };
    for (uint32_t y = visible_.top; y < visible_.top + visible_.height; ++y) {
      readRow(layout_.planes[0].offset + uint64_t{y} * layout_.planes[0].stride + visible_.left,
              visible_.width);
      out.insert(out.end(), row.begin(), row.end());
    }
    const uint32_t cw = (visible_.width + 1) / 2, ch = (visible_.height + 1) / 2;
    for (int plane = 0; plane < 2; ++plane) {
      for (uint32_t y = visible_.top / 2; y < visible_.top / 2 + ch; ++y) {
        readRow(layout_.planes[1].offset + uint64_t{y} * layout_.planes[1].stride +
                    visible_.left / 2 * 2,
                cw * 2);
        for (uint32_t x = 0; x < cw; ++x) out.push_back(row[2 * x + plane]);
      }
    }
    return out;
  }

  MemoryFactory factory_;
  std::unique_ptr<DecoderSession> session_;
  std::map<uint32_t, std::shared_ptr<buffers::ResourceMemory>> memories_;
  buffers::FrameLayout layout_;
  buffers::Rect visible_;
  uint32_t nextInput_ = 1;
  bool flushed_ = false;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool notified_ = false;
};

struct H264Clip {
  std::vector<uint8_t> bytes = readFile(vdec::testing::conformanceFile(kH264));
  std::vector<std::string> md5s =
      readMd5Checksums(vdec::testing::conformanceFile(std::string(kH264) + ".json"));
};

TEST(VaapiSessionGpuTest, DecodesTest25fpsThroughTheBouncePath) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  auto backend = VaapiBackend::create("");
  if (!backend) GTEST_SKIP() << "VA-API unavailable: " << backend.error().message;
  if (!(*backend)->supports(CodedFormat::kH264)) GTEST_SKIP() << "the VA driver has no H.264";
  const H264Clip clip;
  ASSERT_FALSE(clip.bytes.empty());
  // Plain host memory has no dma-buf: every picture is copied from a driver surface.
  VaDriver driver(**backend, [](uint32_t, const buffers::FrameLayout& layout) {
    return std::make_shared<VectorMemory>(layout.totalSize());
  });
  ASSERT_TRUE(driver.run(clip.bytes, clip.md5s.size()));
  EXPECT_THAT(driver.errors, ::testing::IsEmpty());
  EXPECT_THAT(driver.md5s, ElementsAreArray(clip.md5s));
  EXPECT_EQ(driver.paths[buffers::OutputPath::kBounce], static_cast<int>(clip.md5s.size()));
}

// Guest RAM as QEMU's memory-backend-memfd makes it (sealed against shrinking); resources in it
// become udmabufs and are imported as VA surfaces.
TEST(VaapiSessionGpuTest, DecodesTest25fpsIntoImportedUdmabufs) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  auto backend = VaapiBackend::create("");
  if (!backend) GTEST_SKIP() << "VA-API unavailable: " << backend.error().message;
  if (!buffers::Udmabuf::isAvailable()) {
    GTEST_SKIP() << "udmabuf unavailable: " << buffers::Udmabuf::unavailableReason();
  }
  const H264Clip clip;
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t slotSize = 1 << 20;  // >= 320x240 NV12, page-aligned
  const uint64_t base = 0x40000000;
  UniqueFd memfd(::memfd_create("vdec-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  ASSERT_TRUE(memfd.isValid());
  ASSERT_EQ(::ftruncate(memfd.get(), static_cast<off_t>(slotSize * (kTargets + 1))), 0);
  ASSERT_EQ(::fcntl(memfd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
  std::vector<buffers::GuestMemoryRegionSpec> specs;
  specs.push_back({base, slotSize * (kTargets + 1), 0x7f0000000000ull, 0, std::move(memfd)});
  auto ram = buffers::GuestMemory::create(std::move(specs));
  ASSERT_TRUE(ram.has_value());
  ASSERT_EQ(slotSize % page, 0u);
  std::shared_ptr<const buffers::GuestMemory> guest = *ram;
  VaDriver driver(**backend, [&](uint32_t id, const buffers::FrameLayout&) {
    const std::vector<buffers::GuestRange> ranges = {
        {buffers::GuestAddress{base + slotSize * id}, slotSize}};
    auto pages = buffers::GuestPages::create(guest, ranges, slotSize);
    EXPECT_TRUE(pages.has_value());
    return std::shared_ptr<buffers::ResourceMemory>(
        buffers::DmaBufResource::forGuestPages(std::move(*pages), guest, ranges));
  });
  ASSERT_TRUE(driver.run(clip.bytes, clip.md5s.size()));
  EXPECT_THAT(driver.errors, ::testing::IsEmpty());
  EXPECT_THAT(driver.md5s, ElementsAreArray(clip.md5s));
  // Some pictures may be copied (the first ones, before the layout), most must not be.
  EXPECT_GT(driver.paths[buffers::OutputPath::kDirect] + driver.paths[buffers::OutputPath::kBlit],
            0);
}

#else

TEST(VaapiSessionGpuTest, DecodesTest25fpsThroughTheBouncePath) {
  GTEST_SKIP() << "built without VA-API (libva/libdrm not found at configure time)";
}

#endif

}  // namespace
}  // namespace vdec::codecs::testing
