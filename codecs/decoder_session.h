// SPDX-License-Identifier: MIT
// DecoderSession: one decoding stream of a backend, and the events it reports.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "buffers/frame_layout.h"
#include "buffers/output_path.h"
#include "buffers/resource_memory.h"
#include "vdec/base/result.h"

namespace vdec::codecs {

// What the bitstream needs, reported before the first picture and at every resolution change.
struct StreamFormat {
  uint32_t codedWidth = 0;
  uint32_t codedHeight = 0;
  buffers::Rect visible;     // exact crop, never rounded
  uint32_t minBuffers = 0;   // output buffers the decoder needs to make progress
  // What decoding straight into the output resources needs of the announced layout; the device
  // allocates alignUp(codedHeight, heightAlign) + extraRows rows with strides aligned to
  // strideAlign. The crop (`visible`) stays exact.
  uint32_t strideAlign = 64;  // luma row stride alignment in bytes (power of two)
  uint32_t heightAlign = 2;   // allocated rows, aligned (power of two)
  uint32_t extraRows = 0;     // rows the decoder may read below the aligned height
};

// An output resource lent to the session until it comes back in PictureReady or is cleared.
struct OutputTarget {
  uint32_t resourceId = 0;
  std::shared_ptr<buffers::ResourceMemory> memory;  // shared: the device keeps its table entry
};

// How a picture reached its output resource (kDirect, kBlit or kBounce).
using OutputPath = buffers::OutputPath;

// Events, in the order the session produced them.
struct InputDone { uint32_t inputId; };  // input bytes consumed; the buffer may be returned
struct FormatChanged { StreamFormat format; };  // no picture is delivered until setOutputLayout
struct PictureReady {
  uint32_t resourceId;
  uint64_t timestamp;     // the timestamp of the input the picture came from
  bool error = false;     // the picture is damaged (corrupt input)
  bool endOfStream = false;  // empty buffer that completes a flush
  uint64_t bytesCopied = 0;  // bytes the CPU copied into the resource for this picture
  OutputPath path = OutputPath::kBounce;
};
struct FlushDone {};  // every picture of the flushed input was delivered, then an EOS buffer
struct ResetDone { std::vector<uint32_t> cancelledInputs; };  // reset() finished
struct StreamError { std::string message; };  // unrecoverable; the session decodes nothing more
// clearOutput() finished: these resources (lent and not returned in a PictureReady before this
// event) are no longer written or decoded into.
struct OutputCleared { std::vector<uint32_t> resourceIds; };
using DecoderEvent = std::variant<InputDone, FormatChanged, PictureReady, FlushDone, ResetDone,
                                  StreamError, OutputCleared>;

// Lifecycle: created by DecoderBackend::createSession(); destroying it stops its thread and gives
// back every OutputTarget without touching their memory again.
// Threads: every method is called from the device thread; decoding runs on the session's own
// thread, which reports through takeEvents() and SessionOptions::notify.
class DecoderSession {
 public:
  virtual ~DecoderSession() = default;

  // Queues bitstream bytes (a copy the session owns). Bytes may cut NAL units or frames anywhere
  // for Annex-B codecs; for VP8/VP9 one buffer holds one frame. Emits InputDone(inputId) once
  // consumed, and PictureReady for the pictures it completes, stamped with `timestamp`.
  virtual void decode(uint32_t inputId, uint64_t timestamp, std::vector<uint8_t> bytes) = 0;

  // Lends an output resource. It is written only after setOutputLayout() for the current format.
  virtual void queueOutput(OutputTarget target) = 0;

  // Announces the layout the guest was told for the current format (after FormatChanged) and
  // lets decoding continue. Pictures are written in this layout.
  virtual void setOutputLayout(const buffers::FrameLayout& layout) = 0;

  // How many output resources the guest created for the layout that follows (all of them,
  // queued or not); told just before setOutputLayout() when the device knows it. Lets a session
  // choose between direct rendering and bounce at once instead of watching the guest lend.
  virtual void setGuestBufferCount(uint32_t count) { (void)count; }

  // Takes back every lent output resource not yet returned, without waiting: none of them is
  // handed to the decoder again, and OutputCleared (after any PictureReady still being written)
  // names them once nothing writes into them any more.
  virtual void clearOutput() = 0;

  // Decodes everything queued so far, delivers all pictures, then one empty PictureReady with
  // endOfStream on the next free output resource, then FlushDone.
  virtual void flush() = 0;

  // Drops queued input and decoder state asynchronously; ends with ResetDone.
  virtual void reset() = 0;

  // Events produced since the last call. SessionOptions::notify is called (from the decoding
  // thread) whenever new events are available.
  virtual std::vector<DecoderEvent> takeEvents() = 0;
};

}  // namespace vdec::codecs
