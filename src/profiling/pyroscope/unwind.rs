//! Stack unwinding inside the signal handler: framehop on the unwind tables (`.eh_frame`, `.eh_frame_hdr`,
//! `.debug_frame`) of every module mapped when the sampler started, so it works without frame pointers.
//!
//! Everything that allocates happens in [`Unwinder::new`], on the starting thread: listing the modules
//! (findshlibs), mapping their files (memmap2), reading their sections (object), building framehop's module
//! tables and a pool of caches. In the handler framehop runs with `MustNotAllocateDuringUnwind` on a cache
//! taken from the pool with one compare-and-swap, and every stack word it reads is first checked: the page
//! is probed once per sample by `write(2)`-ing one byte of it into a pipe (EFAULT, not SIGSEGV, when it is not
//! readable) — `write` is async-signal-safe. A module loaded after start (`dlopen`) unwinds by framehop's
//! frame-pointer fallback until the sampler restarts.

use std::cell::UnsafeCell;
use std::ops::{Deref, Range};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use framehop::{
    CacheNative, FrameAddress, Module, ModuleSectionInfo, MustNotAllocateDuringUnwind, UnwindRegsNative,
    Unwinder as _, UnwinderNative,
};
use object::{Object, ObjectSection, ObjectSegment};

/// Caches in the pool: samples unwound at once (one per core at most, in practice).
const CACHES: usize = 8;
/// Pages of stack one sample may check (more: the walk ends there).
const PAGES: usize = 32;
const PAGE: u64 = 4096;

/// Bytes of a mapped module file.
#[derive(Clone)]
pub(crate) struct Bytes {
    map: Arc<memmap2::Mmap>,
    range: Range<usize>,
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map[self.range.clone()]
    }
}

struct Sections<'a> {
    file: object::File<'a>,
    map: &'a Arc<memmap2::Mmap>,
}

impl Sections<'_> {
    fn bytes(&self, range: Option<(u64, u64)>) -> Option<Bytes> {
        let (start, size) = range?;
        let start = usize::try_from(start).ok()?;
        let end = start.checked_add(usize::try_from(size).ok()?)?;
        (end <= self.map.len()).then(|| Bytes {
            map: Arc::clone(self.map),
            range: start..end,
        })
    }
}

impl ModuleSectionInfo<Bytes> for Sections<'_> {
    fn base_svma(&self) -> u64 {
        self.file.relative_address_base()
    }
    fn section_svma_range(&mut self, name: &[u8]) -> Option<Range<u64>> {
        let s = self.file.section_by_name_bytes(name)?;
        Some(s.address()..s.address() + s.size())
    }
    fn section_data(&mut self, name: &[u8]) -> Option<Bytes> {
        let s = self.file.section_by_name_bytes(name)?;
        self.bytes(s.file_range())
    }
    fn segment_svma_range(&mut self, name: &[u8]) -> Option<Range<u64>> {
        let s = self
            .file
            .segments()
            .find(|s| s.name_bytes().ok().flatten() == Some(name))?;
        Some(s.address()..s.address() + s.size())
    }
    fn segment_data(&mut self, name: &[u8]) -> Option<Bytes> {
        let s = self
            .file
            .segments()
            .find(|s| s.name_bytes().ok().flatten() == Some(name))?;
        self.bytes(Some(s.file_range()))
    }
}

fn module(path: &std::path::Path, base_avma: u64, len: u64) -> Option<Module<Bytes>> {
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: the file is a loaded module of this process, mapped read-only; loaders do not rewrite them.
    let map = Arc::new(unsafe { memmap2::Mmap::map(&file) }.ok()?);
    let parsed = object::File::parse(&map[..]).ok()?;
    let sections = Sections {
        file: parsed,
        map: &map,
    };
    Some(Module::new(
        path.to_string_lossy().into_owned(),
        base_avma..base_avma + len,
        base_avma,
        sections,
    ))
}

fn modules() -> Vec<Module<Bytes>> {
    use findshlibs::{SharedLibrary, TargetSharedLibrary};
    let exe = std::env::current_exe().ok();
    let mut found = Vec::new();
    TargetSharedLibrary::each(|lib| {
        let name = std::path::PathBuf::from(lib.name());
        let path = if name.as_os_str().is_empty() {
            exe.clone()
        } else {
            Some(name)
        };
        let base = lib.actual_load_addr().0 as u64;
        if let Some(m) = path.and_then(|p| module(&p, base, lib.len() as u64)) {
            found.push(m);
        }
    });
    found
}

struct CacheSlot {
    busy: AtomicBool,
    cache: UnsafeCell<CacheNative<MustNotAllocateDuringUnwind>>,
}

/// framehop's unwinder over this process's modules, with its cache pool and the page probe.
pub(crate) struct Unwinder {
    inner: UnwinderNative<Bytes, MustNotAllocateDuringUnwind>,
    caches: Box<[CacheSlot]>,
    probe: (OwnedFd, OwnedFd),
}

// SAFETY: a cache is used only by the handler that set its `busy` flag; the rest is read-only after `new`.
unsafe impl Sync for Unwinder {}
unsafe impl Send for Unwinder {}

impl Unwinder {
    /// Lists and maps this process's modules. Allocates: call it off the signal path.
    pub(crate) fn new() -> std::io::Result<Unwinder> {
        let mut inner = UnwinderNative::new();
        for m in modules() {
            inner.add_module(m);
        }
        let caches = (0..CACHES)
            .map(|_| CacheSlot {
                busy: AtomicBool::new(false),
                cache: UnsafeCell::new(CacheNative::new_in()),
            })
            .collect();
        Ok(Unwinder {
            inner,
            caches,
            probe: pipe()?,
        })
    }

    /// Unwinds the interrupted context into `out` (lookup addresses, innermost first); returns the depth, or
    /// `None` when every cache is in use. Async-signal-safe.
    pub(crate) fn unwind(&self, ucontext: *mut libc::c_void, out: &mut [u64]) -> Option<usize> {
        let (pc, regs) = registers(ucontext)?;
        let slot = self.caches.iter().find(|c| {
            c.busy
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        })?;
        // SAFETY: `busy` gives this handler the cache alone.
        let cache = unsafe { &mut *slot.cache.get() };
        let mut pages = Pages::default();
        let mut read = |addr: u64| self.read_word(addr, &mut pages);
        let mut iter = self.inner.iter_frames(pc, regs, cache, &mut read);
        let mut depth = 0;
        while depth < out.len() {
            match iter.next() {
                Ok(Some(frame)) => {
                    out[depth] = lookup(frame);
                    depth += 1;
                }
                _ => break,
            }
        }
        slot.busy.store(false, Ordering::Release);
        Some(depth)
    }

    fn read_word(&self, addr: u64, pages: &mut Pages) -> Result<u64, ()> {
        if !addr.is_multiple_of(8) || addr == 0 {
            return Err(());
        }
        let page = addr & !(PAGE - 1);
        if !pages.contains(page) && (!probe(&self.probe, page) || !pages.add(page)) {
            return Err(());
        }
        // SAFETY: the page holding these aligned 8 bytes was just found readable by the probe.
        Ok(unsafe { (addr as *const u64).read_volatile() })
    }
}

fn lookup(frame: FrameAddress) -> u64 {
    frame.address_for_lookup()
}

#[derive(Default)]
struct Pages {
    ok: [u64; PAGES],
    n: usize,
}

impl Pages {
    fn contains(&self, page: u64) -> bool {
        self.ok[..self.n].contains(&page)
    }
    fn add(&mut self, page: u64) -> bool {
        if self.n == PAGES {
            return false;
        }
        self.ok[self.n] = page;
        self.n += 1;
        true
    }
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// True when the byte at `page` can be read: the kernel copies it into the pipe or answers EFAULT.
fn probe(pipe: &(OwnedFd, OwnedFd), page: u64) -> bool {
    // SAFETY: write(2) checks the source address itself; read(2) drains the byte into a local.
    unsafe {
        if libc::write(pipe.1.as_raw_fd(), page as *const libc::c_void, 1) != 1 {
            return false;
        }
        let mut byte = 0u8;
        libc::read(pipe.0.as_raw_fd(), (&raw mut byte).cast(), 1);
    }
    true
}

#[cfg(target_arch = "x86_64")]
fn registers(ucontext: *mut libc::c_void) -> Option<(u64, UnwindRegsNative)> {
    let uc = ucontext.cast::<libc::ucontext_t>();
    if uc.is_null() {
        return None;
    }
    // SAFETY: the kernel passes the interrupted context to an SA_SIGINFO handler.
    let g = unsafe { &(*uc).uc_mcontext.gregs };
    let (ip, sp, bp) = (
        g[libc::REG_RIP as usize] as u64,
        g[libc::REG_RSP as usize] as u64,
        g[libc::REG_RBP as usize] as u64,
    );
    Some((ip, UnwindRegsNative::new(ip, sp, bp)))
}

#[cfg(target_arch = "aarch64")]
fn registers(ucontext: *mut libc::c_void) -> Option<(u64, UnwindRegsNative)> {
    let uc = ucontext.cast::<libc::ucontext_t>();
    if uc.is_null() {
        return None;
    }
    // SAFETY: the kernel passes the interrupted context to an SA_SIGINFO handler.
    let m = unsafe { &(*uc).uc_mcontext };
    Some((m.pc, UnwindRegsNative::new(m.regs[30], m.sp, m.regs[29])))
}
