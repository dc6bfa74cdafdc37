//! The system calls ferromtx makes beyond what std and tokio wrap: open-file limits, clock
//! and page sizes, process-group signals, interface addresses, the thread's CPU clock, one
//! allocator control, and the counting allocator of the memory tests and examples. This is
//! the only module of the workspace with `unsafe` code; each block says why it holds.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::{CStr, c_char, c_int, c_void};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::time::Duration;

/// Raises the soft limit of open files to the hard one, so many clients fit (Go's runtime
/// does the same at start). Returns the limit in force.
pub fn raise_fd_limit() -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid resource and a pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err(io::Error::last_os_error());
        }
        if lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(lim.rlim_cur)
}

/// The soft limit of open files.
pub fn max_open_files() -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, exclusively borrowed rlimit for the call's duration.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(limit.rlim_cur)
}

fn sysconf(name: c_int, what: &str) -> io::Result<u64> {
    // SAFETY: sysconf has no memory-safety preconditions; it only reads a constant.
    let value = unsafe { libc::sysconf(name) };
    u64::try_from(value)
        .ok()
        .filter(|&v| v > 0)
        .ok_or_else(|| io::Error::other(format!("sysconf({what}) failed")))
}

/// Clock ticks per second of `/proc` CPU times.
pub fn clock_ticks_per_second() -> io::Result<u64> {
    sysconf(libc::_SC_CLK_TCK, "_SC_CLK_TCK")
}

/// The memory page size.
pub fn page_size() -> io::Result<u64> {
    sysconf(libc::_SC_PAGESIZE, "_SC_PAGESIZE")
}

/// Sends `sig` to process `pid`.
pub fn signal(pid: u32, sig: c_int) -> io::Result<()> {
    let pid = i32::try_from(pid).map_err(|_| io::Error::other("pid out of range"))?;
    // SAFETY: kill(2) has no memory-safety preconditions.
    if unsafe { libc::kill(pid, sig) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sends `sig` to the process group led by `pid` (a child started with `process_group(0)`).
pub fn signal_group(pid: u32, sig: c_int) -> io::Result<()> {
    let pid = i32::try_from(pid).map_err(|_| io::Error::other("pid out of range"))?;
    // SAFETY: kill(2) has no memory-safety preconditions; a negative pid addresses the
    // process group `pid` leads.
    if unsafe { libc::kill(-pid, sig) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// One address of one network interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceAddr {
    pub interface: String,
    pub ip: IpAddr,
}

/// Every IPv4 and IPv6 address of every interface, in the system's order (`getifaddrs`).
pub fn interface_addrs() -> io::Result<Vec<InterfaceAddr>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: `head` is a valid out-pointer; on success the list is freed below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned, not yet freed.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: a non-null ifa_name is a NUL-terminated string owned by the list.
        let interface = unsafe { CStr::from_ptr(ifa.ifa_name) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: ifa_addr is non-null and points to a sockaddr whose family says how
        // large it is; it is read as the matching sockaddr type only.
        let ip = unsafe {
            match i32::from((*ifa.ifa_addr).sa_family) {
                libc::AF_INET => {
                    let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                    Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                        sin.sin_addr.s_addr,
                    ))))
                }
                libc::AF_INET6 => {
                    let sin6 = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                    Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
                }
                _ => None,
            }
        };
        if let Some(ip) = ip {
            out.push(InterfaceAddr { interface, ip });
        }
    }
    // SAFETY: `head` came from a successful getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

/// CPU time used by the calling thread.
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer for clock_gettime.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// jemalloc's start-up options when it is the allocator (the server's): heap profiling
/// on, one sample per 512 KiB allocated on average (Go's default rate), cheap enough to
/// leave on. `MALLOC_CONF` in the environment wins.
pub const MALLOC_CONF: &str = "prof:true,prof_active:true,lg_prof_sample:19";

/// [`MALLOC_CONF`] where jemalloc looks for it at start-up (built with unprefixed symbols,
/// it reads `malloc_conf`). Under another allocator nobody reads it.
#[unsafe(export_name = "malloc_conf")]
pub static MALLOC_CONF_SYMBOL: &[u8; 45] = b"prof:true,prof_active:true,lg_prof_sample:19\0";

/// jemalloc's `mallctl`, as its sys crate declares it.
pub type Mallctl =
    unsafe extern "C" fn(*const c_char, *mut c_void, *mut usize, *mut c_void, usize) -> c_int;

/// Runs a jemalloc control that takes and returns nothing (such as
/// `arena.<i>.purge`), through the allocator's own `mallctl`. Returns its status code.
pub fn mallctl_void(mallctl: Mallctl, name: &CStr) -> c_int {
    // SAFETY: a NUL-terminated name and null value pointers, as jemalloc documents void
    // controls; `mallctl` is jemalloc's function with that exact signature.
    unsafe {
        mallctl(
            name.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    }
}

/// A global allocator that forwards to the system's and counts live bytes and calls,
/// for memory tests and examples (`#[global_allocator] static A: CountingAlloc = ...`).
#[derive(Debug)]
pub struct CountingAlloc {
    live: AtomicIsize,
    calls: AtomicUsize,
}

impl CountingAlloc {
    pub const fn new() -> CountingAlloc {
        CountingAlloc {
            live: AtomicIsize::new(0),
            calls: AtomicUsize::new(0),
        }
    }

    /// Bytes allocated and not freed since the start.
    pub fn live_bytes(&self) -> isize {
        self.live.load(Ordering::Relaxed)
    }

    /// Allocations and reallocations since the start.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }
}

impl Default for CountingAlloc {
    fn default() -> Self {
        CountingAlloc::new()
    }
}

fn signed(n: usize) -> isize {
    isize::try_from(n).unwrap_or(isize::MAX)
}

// SAFETY: every call is forwarded unchanged to the system allocator; only counters move.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.live
            .fetch_add(signed(layout.size()), Ordering::Relaxed);
        self.calls.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is GlobalAlloc's, which System takes.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.live
            .fetch_sub(signed(layout.size()), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.live
            .fetch_add(signed(new_size) - signed(layout.size()), Ordering::Relaxed);
        self.calls.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malloc_conf_symbol_is_the_setting() {
        assert_eq!(
            &MALLOC_CONF_SYMBOL[..],
            format!("{MALLOC_CONF}\0").as_bytes()
        );
    }

    #[test]
    fn interfaces_include_the_loopback_addresses() {
        let all = interface_addrs().unwrap();
        assert!(all.iter().any(|a| a.ip == IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert!(all.iter().all(|a| !a.interface.is_empty()));
    }

    #[test]
    fn limits_and_sizes_are_read() {
        let raised = raise_fd_limit().unwrap();
        assert_eq!(max_open_files().unwrap(), raised);
        assert!(page_size().unwrap() >= 4096);
        assert!(clock_ticks_per_second().unwrap() >= 1);
    }

    #[test]
    fn signals_reach_a_child_and_its_group() {
        use std::os::unix::process::CommandExt;
        for group in [false, true] {
            let mut child = std::process::Command::new("sleep")
                .arg("30")
                .process_group(0)
                .spawn()
                .unwrap();
            let pid = child.id();
            if group {
                signal_group(pid, libc::SIGTERM).unwrap();
            } else {
                signal(pid, libc::SIGTERM).unwrap();
            }
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGTERM));
        }
        assert!(signal(u32::MAX, libc::SIGTERM).is_err());
    }

    #[test]
    fn thread_cpu_time_moves() {
        let before = thread_cpu_time();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = std::hint::black_box(x.wrapping_add(i * i));
        }
        assert!(x != 1);
        assert!(thread_cpu_time() > before);
    }
}
