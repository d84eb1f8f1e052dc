//! systemd's readiness protocol (`Type=notify`): a datagram such as `READY=1` to the
//! socket named by `$NOTIFY_SOCKET`, if there is one (an abstract socket when the name
//! starts with `@`).

/// Sends `state` to systemd; does nothing outside systemd, and never fails the node.
pub fn send(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    #[cfg(target_os = "linux")]
    {
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::net::{SocketAddr, UnixDatagram};
        let path = path.to_string_lossy().into_owned();
        let addr = match path.strip_prefix('@') {
            Some(name) => SocketAddr::from_abstract_name(name.as_bytes()),
            None => SocketAddr::from_pathname(&path),
        };
        let sent = addr.and_then(|addr| {
            let socket = UnixDatagram::unbound()?;
            socket.send_to_addr(state.as_bytes(), &addr)
        });
        if let Err(e) = sent {
            tracing::warn!(socket = %path, error = %e, "could not notify systemd");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = path;
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::os::unix::net::UnixDatagram;

    #[test]
    fn readiness_reaches_the_notify_socket() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("bind");
        // The variable is read by this call only; tests run in one process, so use a
        // scoped value and restore it.
        let before = std::env::var_os("NOTIFY_SOCKET");
        std::env::set_var("NOTIFY_SOCKET", &path);
        super::send("READY=1");
        match before {
            Some(v) => std::env::set_var("NOTIFY_SOCKET", v),
            None => std::env::remove_var("NOTIFY_SOCKET"),
        }
        let mut buf = [0u8; 64];
        let n = socket.recv(&mut buf).expect("datagram");
        assert_eq!(&buf[..n], b"READY=1");
    }
}
