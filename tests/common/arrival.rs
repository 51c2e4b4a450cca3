//! When a request reached the test server, as the kernel saw it.
//!
//! A handler that reads `Instant::now()` learns when the server got round to
//! the request, which on a loaded machine can be tens of milliseconds after
//! the bytes came in: a late stamp on one request shrinks the gap to the
//! next by as much, and a test of the client's request spacing then fails
//! for the server's own delay. Linux stamps every received packet
//! (`SO_TIMESTAMPNS`) and hands the stamp to `recvmsg`; this listener keeps
//! the stamp of the first bytes of each request for the handler to take.
//! Elsewhere a read is stamped when it happens, which is still earlier than
//! the handler.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The arrival of the request a connection is reading, until a handler takes it.
#[derive(Clone, Default)]
pub struct Arrival(Arc<Mutex<Option<Instant>>>);

impl Arrival {
    /// When the request being handled arrived: the kernel's stamp of its
    /// first bytes, else when they were read, else now.
    pub fn take(&self) -> Instant {
        self.lock().take().unwrap_or_else(Instant::now)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps the first stamp after the last `take`: the start of the next
    /// request (HTTP/1 clients send the next one only after the answer).
    fn note(&self, at: Instant) {
        self.lock().get_or_insert(at);
    }
}

impl Connected<IncomingStream<'_, StampingListener>> for Arrival {
    fn connect_info(stream: IncomingStream<'_, StampingListener>) -> Self {
        stream.io().arrival.clone()
    }
}

/// A TCP listener whose connections note when each request arrived.
pub struct StampingListener(TcpListener);

impl StampingListener {
    pub async fn bind() -> StampingListener {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        // Set on the listener so that a request sent with the connection,
        // before `accept` returns, is stamped too (accepted sockets inherit it).
        enable_stamps(listener.as_raw_fd()).expect("SO_TIMESTAMPNS on the listener");
        StampingListener(listener)
    }
}

impl Listener for StampingListener {
    type Io = StampedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (StampedStream, SocketAddr) {
        loop {
            match self.0.accept().await {
                Ok((stream, addr)) => {
                    return (
                        StampedStream {
                            stream,
                            arrival: Arrival::default(),
                        },
                        addr,
                    );
                }
                // As axum's own listener does: a full file table is temporary.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// A connection that reads with `recvmsg` to see the kernel's stamps.
pub struct StampedStream {
    stream: TcpStream,
    arrival: Arrival,
}

impl AsyncRead for StampedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            ready!(this.stream.poll_read_ready(cx))?;
            let fd = this.stream.as_raw_fd();
            let unfilled = buf.initialize_unfilled();
            match this
                .stream
                .try_io(Interest::READABLE, || recv_stamped(fd, unfilled))
            {
                Ok((read, stamp)) => {
                    if read > 0 {
                        this.arrival
                            .note(stamp.map_or_else(Instant::now, to_instant));
                    }
                    buf.advance(read);
                    return Poll::Ready(Ok(()));
                }
                // Readiness was stale; `try_io` has cleared it.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for StampedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The kernel's stamps are wall-clock time; the tests compare `Instant`s.
/// Taken now, the two clocks differ only by the microseconds between them.
fn to_instant(stamp: SystemTime) -> Instant {
    let (now, wall) = (Instant::now(), SystemTime::now());
    let age = wall.duration_since(stamp).unwrap_or_default();
    now.checked_sub(age).unwrap_or(now)
}

#[cfg(not(target_os = "linux"))]
fn enable_stamps(_fd: RawFd) -> io::Result<()> {
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn recv_stamped(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, Option<SystemTime>)> {
    // SAFETY: `buf` is alive and writable for its length during the call.
    let read = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
    let read = usize::try_from(read).map_err(|_| io::Error::last_os_error())?;
    Ok((read, None))
}

#[cfg(target_os = "linux")]
fn enable_stamps(fd: RawFd) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: `fd` is an open socket and the option value is a live c_int
    // of the length given.
    let set = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&raw const on).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if set == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// One non-blocking `recvmsg` into `buf`: the bytes read and, when the
/// kernel attached one, the receive stamp of the data.
#[cfg(target_os = "linux")]
fn recv_stamped(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, Option<SystemTime>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // Room for a few control messages, aligned as `cmsghdr` needs.
    let mut control = [0u64; 16];
    // SAFETY: an all-zero msghdr is valid (no name, no buffers).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = size_of_val(&control) as _;
    // SAFETY: `msg` points at `iov` (over `buf`) and `control`, all alive
    // for the call and of the lengths given.
    let read = unsafe { libc::recvmsg(fd, &raw mut msg, libc::MSG_DONTWAIT) };
    let read = usize::try_from(read).map_err(|_| io::Error::last_os_error())?;
    let mut stamp = None;
    // SAFETY: the CMSG_* walk stays within `msg_controllen` bytes of
    // `control`, which the kernel filled; the data is read unaligned.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS
            {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                let since_epoch = u64::try_from(ts.tv_sec)
                    .ok()
                    .zip(u32::try_from(ts.tv_nsec).ok())
                    .map(|(secs, nanos)| Duration::new(secs, nanos));
                stamp = since_epoch.map(|d| UNIX_EPOCH + d);
            }
            cmsg = libc::CMSG_NXTHDR(&raw const msg, cmsg);
        }
    }
    Ok((read, stamp))
}
