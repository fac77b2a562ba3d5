#pragma once
// Stack switching for the emulator's CUDA threads. On x86-64 Linux a switch saves the registers the System V ABI
// makes callee-saved (and the SSE/x87 control words) on the old stack and pops them from the new one: a few
// nanoseconds, against about a microsecond for ucontext's swapcontext, which also saves the signal mask with a
// system call (the fallback elsewhere). A block of 256 threads exchanging through shuffles switches tens of
// thousands of times, so it matters. Under AddressSanitizer every switch is announced to it
// (__sanitizer_start_switch_fiber / __sanitizer_finish_switch_fiber), so that it knows which stack is live.
#include <cstddef>
#include <cstdint>

#if defined(__SANITIZE_ADDRESS__)
#define MIEN_EMULATOR_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MIEN_EMULATOR_ASAN 1
#endif
#endif
#ifndef MIEN_EMULATOR_ASAN
#define MIEN_EMULATOR_ASAN 0
#endif
#if MIEN_EMULATOR_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

#if defined(__x86_64__) && defined(__linux__)
#define MIEN_EMULATOR_ASM_SWITCH 1
#else
#define MIEN_EMULATOR_ASM_SWITCH 0
#include <ucontext.h>
#endif

namespace mien_emulator {

#if MIEN_EMULATOR_ASM_SWITCH

// mien_emulator_switch(&from_sp, to_sp): saves the current state on this stack, stores the stack pointer in
// *from_sp, and resumes the state saved at to_sp. Weak, so that every translation unit may define it.
extern "C" void mien_emulator_switch(void** from_sp, void* to_sp);
asm(R"(
  .text
  .weak mien_emulator_switch
  .type mien_emulator_switch, @function
mien_emulator_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size mien_emulator_switch, .-mien_emulator_switch
)");

class ExecutionContext {
 public:
  // Makes the next switch to this context call entry() on the given stack; entry must never return, and must
  // begin with started() and end with a final leave().
  void prepare(char* stack, std::size_t bytes, void (*entry)()) {
    stack_ = stack;
    stack_bytes_ = bytes;
    auto top = (reinterpret_cast<std::uintptr_t>(stack) + bytes) & ~std::uintptr_t{15};
    auto* slot = reinterpret_cast<std::uint64_t*>(top);
    *--slot = 0;                                         // entry's return address: none
    *--slot = reinterpret_cast<std::uint64_t>(entry);    // where the switch's ret lands
    for (int r = 0; r < 6; ++r) *--slot = 0;             // rbp, rbx, r12-r15
    *--slot = 0x1f80u | (std::uint64_t{0x037fu} << 32);  // default MXCSR, x87 control word
    sp_ = slot;
  }
  static void jump(ExecutionContext& from, ExecutionContext& to) {
    announce_switch(&from.fake_stack_, to);
    mien_emulator_switch(&from.sp_, to.sp_);
    arrived(from.fake_stack_, nullptr);
  }
  // The last switch away from a context whose entry is done (its stack is not resumed).
  static void leave(ExecutionContext& from, ExecutionContext& to) {
    announce_switch(nullptr, to);
    mien_emulator_switch(&from.sp_, to.sp_);
  }
  // First thing a prepared entry does; `caller` learns the stack it was started from.
  static void started(ExecutionContext& caller) { arrived(nullptr, &caller); }

 private:
  static void announce_switch(void** fake_stack, const ExecutionContext& to) {
#if MIEN_EMULATOR_ASAN
    __sanitizer_start_switch_fiber(fake_stack, to.stack_, to.stack_bytes_);
#else
    (void)fake_stack;
    (void)to;
#endif
  }
  static void arrived(void* fake_stack, ExecutionContext* came_from) {
#if MIEN_EMULATOR_ASAN
    const void* bottom = nullptr;
    std::size_t bytes = 0;
    __sanitizer_finish_switch_fiber(fake_stack, &bottom, &bytes);
    if (came_from) {
      came_from->stack_ = bottom;
      came_from->stack_bytes_ = bytes;
    }
#else
    (void)fake_stack;
    (void)came_from;
#endif
  }

  void* sp_ = nullptr;
  const void* stack_ = nullptr;  // the stack this context runs on (for AddressSanitizer)
  std::size_t stack_bytes_ = 0;
  void* fake_stack_ = nullptr;  // AddressSanitizer's bookkeeping while this context is switched out
};

#else

class ExecutionContext {
 public:
  void prepare(char* stack, std::size_t bytes, void (*entry)()) {
    getcontext(&context_);
    context_.uc_stack.ss_sp = stack;
    context_.uc_stack.ss_size = bytes;
    context_.uc_link = nullptr;
    makecontext(&context_, entry, 0);
  }
  // AddressSanitizer understands swapcontext by itself.
  static void jump(ExecutionContext& from, ExecutionContext& to) { swapcontext(&from.context_, &to.context_); }
  static void leave(ExecutionContext& from, ExecutionContext& to) { jump(from, to); }
  static void started(ExecutionContext&) {}

 private:
  ucontext_t context_{};
};

#endif

}  // namespace mien_emulator
