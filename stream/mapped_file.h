// A read-only mapping of a regular file, for reading large NDJSON inputs
// without copying them (docs/performance.md, "Reading the input"). Thread-safe
// to read from any thread while the object lives.
//
// A file that shrinks while it is mapped (truncated by another process) would
// make reading the pages past its new end raise SIGBUS and kill the process.
// A process-wide SIGBUS handler catches faults inside live mappings: it
// replaces the rest of the mapping with zero-filled pages and notes it, so
// the reader sees NUL bytes there (lines that are not JSON) and truncated()
// turns true; the source then stops with an error. Faults elsewhere go to the
// handler that was installed before, or kill the process as they would have.
#ifndef WEIR_STREAM_MAPPED_FILE_H_
#define WEIR_STREAM_MAPPED_FILE_H_

#include <cstddef>
#include <memory>

namespace weir {

class MappedFile {
 public:
  // Maps fd's first `size` bytes (size > 0); null when mmap fails.
  static std::unique_ptr<MappedFile> Map(int fd, size_t size);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const char* data() const { return data_; }
  size_t size() const { return size_; }
  // Whether a read faulted because the file had shrunk.
  bool truncated() const;

 private:
  MappedFile(const char* data, size_t size, int slot) : data_(data), size_(size), slot_(slot) {}
  const char* data_;
  size_t size_;
  int slot_;  // in the SIGBUS handler's table
};

}  // namespace weir

#endif  // WEIR_STREAM_MAPPED_FILE_H_
