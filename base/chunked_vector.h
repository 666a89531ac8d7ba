// A vector that grows in fixed chunks: appending never moves the elements already in it.
#pragma once

#include <compare>
#include <cstddef>
#include <iterator>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace vigil {

// Like std::vector for push/pop at the end and indexing, but elements live in chunks of
// `kChunk` that are never reallocated: growing a table of a million 400-byte records costs
// one chunk allocation per kChunk appends, instead of a doubling that moves every record
// (hundreds of milliseconds of one event-loop turn, and twice the memory while it runs).
// References stay valid until the element is popped or the container cleared or moved.
// Indexing is a shift and a mask. Not thread-safe.
template <typename T, std::size_t kChunk = 4096>
class ChunkedVector {
  static_assert((kChunk & (kChunk - 1)) == 0, "kChunk must be a power of two");

  template <bool kConst>
  class Iterator {
   public:
    using iterator_concept = std::random_access_iterator_tag;
    using iterator_category = std::random_access_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using Owner = std::conditional_t<kConst, const ChunkedVector, ChunkedVector>;
    using reference = std::conditional_t<kConst, const T&, T&>;
    using pointer = std::conditional_t<kConst, const T*, T*>;

    Iterator() = default;
    Iterator(Owner* owner, std::size_t i) : owner_(owner), i_(i) {}
    operator Iterator<true>() const { return {owner_, i_}; }  // NOLINT: as std::vector's

    reference operator*() const { return (*owner_)[i_]; }
    pointer operator->() const { return &(*owner_)[i_]; }
    reference operator[](difference_type n) const { return (*owner_)[i_ + n]; }
    Iterator& operator++() { ++i_; return *this; }
    Iterator operator++(int) { auto t = *this; ++i_; return t; }
    Iterator& operator--() { --i_; return *this; }
    Iterator operator--(int) { auto t = *this; --i_; return t; }
    Iterator& operator+=(difference_type n) { i_ += n; return *this; }
    Iterator& operator-=(difference_type n) { i_ -= n; return *this; }
    friend Iterator operator+(Iterator it, difference_type n) { return it += n; }
    friend Iterator operator+(difference_type n, Iterator it) { return it += n; }
    friend Iterator operator-(Iterator it, difference_type n) { return it -= n; }
    friend difference_type operator-(const Iterator& a, const Iterator& b) {
      return static_cast<difference_type>(a.i_) - static_cast<difference_type>(b.i_);
    }
    friend bool operator==(const Iterator& a, const Iterator& b) { return a.i_ == b.i_; }
    friend auto operator<=>(const Iterator& a, const Iterator& b) { return a.i_ <=> b.i_; }

   private:
    Owner* owner_ = nullptr;
    std::size_t i_ = 0;
  };

 public:
  using value_type = T;
  using iterator = Iterator<false>;
  using const_iterator = Iterator<true>;

  ChunkedVector() = default;
  ChunkedVector(ChunkedVector&& other) noexcept
      : chunks_(std::move(other.chunks_)), size_(std::exchange(other.size_, 0)) {}
  ChunkedVector& operator=(ChunkedVector&& other) noexcept {
    if (this != &other) {
      clear();
      chunks_ = std::move(other.chunks_);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ChunkedVector(const ChunkedVector&) = delete;
  ChunkedVector& operator=(const ChunkedVector&) = delete;
  ~ChunkedVector() { clear(); }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](std::size_t i) { return Slot(i); }
  const T& operator[](std::size_t i) const { return const_cast<ChunkedVector*>(this)->Slot(i); }
  T& back() { return Slot(size_ - 1); }
  const T& back() const { return (*this)[size_ - 1]; }
  iterator begin() { return {this, 0}; }
  iterator end() { return {this, size_}; }
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size_}; }

  // Makes room for the chunk table of `n` elements (the chunks come as they are filled).
  void reserve(std::size_t n) { chunks_.reserve((n + kChunk - 1) / kChunk); }

  template <typename... Args>
  T& emplace_back(Args&&... args) {
    if (size_ == chunks_.size() * kChunk) chunks_.push_back(std::make_unique_for_overwrite<Storage[]>(kChunk));
    T* slot = new (&chunks_[size_ / kChunk][size_ % kChunk]) T(std::forward<Args>(args)...);
    ++size_;
    return *slot;
  }
  void push_back(T&& value) { emplace_back(std::move(value)); }

  // Requires !empty(). Keeps one emptied chunk as a spare and frees a second: popping and
  // pushing across a chunk boundary does not allocate each time.
  void pop_back() {
    --size_;
    Slot(size_).~T();
    if (chunks_.size() * kChunk >= size_ + 2 * kChunk) chunks_.pop_back();
  }
  // Chunks allocated (for tests and memory figures).
  std::size_t chunk_count() const { return chunks_.size(); }

  void clear() {
    while (size_ > 0) pop_back();
    chunks_.clear();
  }

 private:
  struct Storage {
    alignas(T) unsigned char bytes[sizeof(T)];
  };
  T& Slot(std::size_t i) {
    return *std::launder(reinterpret_cast<T*>(chunks_[i / kChunk][i % kChunk].bytes));
  }

  std::vector<std::unique_ptr<Storage[]>> chunks_;
  std::size_t size_ = 0;
};

}  // namespace vigil
