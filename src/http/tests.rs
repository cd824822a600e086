//! The server end to end over real sockets: deadlines, the slot bound, Host and Origin rules.

use super::*;
use std::io::Write;

#[test]
fn a_plain_text_reply_is_one_escaped_line() {
    let reply = Response::line(400, "bad \u{1b}]0;x\u{7} name\nforged: \u{202e}");
    assert_eq!(
        reply.body,
        "bad \\u{1b}]0;x\\u{7} name\\nforged: \\u{202e}\n"
    );
}

#[test]
fn listen_addresses() {
    let on = |s: &str| Listen::On(s.parse().unwrap());
    assert_eq!(Listen::parse("off"), Ok(Listen::Off));
    assert_eq!(Listen::parse("127.0.0.1:4266"), Ok(on("127.0.0.1:4266")));
    assert_eq!(Listen::parse("[::1]:80"), Ok(on("[::1]:80")));
    assert_eq!(Listen::parse("0.0.0.0:0"), Ok(on("0.0.0.0:0")));
    assert_eq!(Listen::parse("localhost:9"), Ok(on("127.0.0.1:9")));
    assert_eq!(Listen::default(), on("127.0.0.1:4266"));
    for bad in [
        "",
        "4266",
        "127.0.0.1",
        "localhost",
        "localhost:x",
        "host:80",
        "OFF",
    ] {
        let err = Listen::parse(bad).unwrap_err();
        assert!(
            err.starts_with(&format!("{bad:?} is not an address")),
            "{err}"
        );
    }
    assert_eq!(on("[::1]:80").to_string(), "[::1]:80");
    assert_eq!(Listen::Off.to_string(), "off");
}

/// Sends `request` raw and returns the whole reply.
fn call(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut reply = Vec::new();
    // A refused connection may end in a reset after its reply: keep what came.
    let _ = stream.read_to_end(&mut reply);
    String::from_utf8(reply).unwrap()
}

fn server(limits: Limits) -> Running {
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), limits).unwrap();
    server
        .start(|request| Response::line(200, format!("{} {:?}", request.method, request.path)))
        .unwrap()
}

#[test]
fn replies_close_and_head_has_no_body() {
    let running = server(Limits::default());
    let reply = call(
        running.addr,
        "GET /a/b HTTP/1.1\r\nHost: localhost:4266\r\n\r\n",
    );
    assert_eq!(
        reply,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 15\r\n\
         Connection: close\r\n\r\nGET [\"a\", \"b\"]\n"
    );
    let reply = call(running.addr, "HEAD / HTTP/1.1\r\n\r\n");
    assert!(reply.contains("Content-Length: 10\r\n"), "{reply}");
    assert!(reply.ends_with("\r\n\r\n"), "{reply}");
    let reply = call(running.addr, "GET / HTTP/3\r\n\r\n");
    assert!(
        reply.starts_with("HTTP/1.1 505 HTTP Version Not Supported\r\n"),
        "{reply}"
    );
    assert!(reply.ends_with("\r\n\r\nHTTP/3 is not supported: send HTTP/1.1 or HTTP/1.0\n"));
    assert_eq!(running.stop(Duration::from_secs(5)), 0);
}

#[test]
fn connections_past_the_limit_are_refused_until_one_closes() {
    let running = server(Limits {
        connections: 2,
        timeout: Duration::from_secs(30),
        ..Limits::default()
    });
    // Two clients that say nothing hold both slots.
    let silent: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(running.addr).unwrap())
        .collect();
    // Asks until the reply has `status` (for up to two seconds); returns the last reply.
    let call_until = |status: &str| {
        let mut reply = String::new();
        for _ in 0..200 {
            reply = call(running.addr, "GET / HTTP/1.1\r\n\r\n");
            if reply.starts_with(status) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        reply
    };
    // The acceptor takes the silent ones first: wait until both slots are taken.
    let refused = call_until("HTTP/1.1 503");
    assert!(
        refused.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{refused}"
    );
    assert!(refused.ends_with("busy: too many connections at once; try again\n"));
    drop(silent);
    let reply = call_until("HTTP/1.1 200");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    running.stop(Duration::from_secs(5));
}

/// Sets a socket's kernel buffer (`SO_SNDBUF`, `SO_RCVBUF`) to `bytes`, which also
/// stops the kernel from growing it as it sees fit.
fn cap_buffer(socket: &impl std::os::fd::AsRawFd, option: libc::c_int, bytes: libc::c_int) {
    // SAFETY: the descriptor is open for the call (`socket` is borrowed), and the value
    // is a c_int of the length passed.
    let done = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&raw const bytes).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(done, 0, "{}", io::Error::last_os_error());
}

#[test]
fn a_slow_reader_is_cut_off_at_the_deadline_and_gives_its_slot_back() {
    const BIG: usize = 16 << 20;
    let limits = Limits {
        connections: 1,
        timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), limits).unwrap();
    // Small buffers at both ends (a connection takes its listener's): the reader below
    // then frees room many times within each timeout, so a write is never timed out
    // for want of progress — only the deadline can stop the reply.
    cap_buffer(&server.listener, libc::SO_SNDBUF, 64 << 10);
    let running = server
        .start(|request| match request.path[0].as_str() {
            "big" => Response::ok("text/plain", "x".repeat(BIG)),
            _ => Response::line(200, "small"),
        })
        .unwrap();
    let mut slow = TcpStream::connect(running.addr).unwrap();
    cap_buffer(&slow, libc::SO_RCVBUF, 64 << 10);
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    slow.write_all(b"GET /big HTTP/1.1\r\n\r\n").unwrap();
    let mut buf = [0_u8; 16 << 10];
    // The reply has begun, so the slot is taken.
    let mut received = slow.read(&mut buf).unwrap();
    // At most 16 KiB every 10 ms while the slot is held: taking the whole reply so
    // would hold it for over ten seconds.
    let started = Instant::now();
    while running.open.wait_idle(Instant::now()) > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the slow reader still holds its slot after {received} bytes"
        );
        received += slow.read(&mut buf).unwrap_or(0);
        std::thread::sleep(Duration::from_millis(10));
    }
    // What was written before the deadline is still on its way; then the reply ends.
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    received += rest.len();
    assert!(received < BIG, "the whole reply came: {received} bytes");
    // The one slot is free again: the next client is answered, not refused.
    let reply = call(running.addr, "GET /small HTTP/1.1\r\n\r\n");
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    assert_eq!(running.stop(Duration::from_secs(5)), 0);
}

#[test]
fn a_silent_client_gets_408_and_a_stopped_server_accepts_nothing() {
    let running = server(Limits {
        connections: 4,
        timeout: Duration::from_millis(200),
        ..Limits::default()
    });
    let mut silent = TcpStream::connect(running.addr).unwrap();
    let mut reply = String::new();
    silent.read_to_string(&mut reply).unwrap();
    assert!(
        reply.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{reply}"
    );
    let addr = running.addr;
    assert_eq!(running.stop(Duration::from_secs(5)), 0);
    assert!(TcpStream::connect(addr).is_err());
}

/// A server speaking TLS with the integration tests' certificate (its key copied into
/// `dir` with mode 0600, as serve requires).
fn tls_server(dir: &std::path::Path, limits: Limits) -> Running {
    use std::os::unix::fs::PermissionsExt;
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/tls");
    let key = dir.join("key.pem");
    std::fs::copy(fixtures.join("server.key"), &key).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let tls = Tls::load(&fixtures.join("server.pem"), &key).unwrap();
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), limits).unwrap();
    server
        .with_tls(Some(tls))
        .start(|_| Response::line(200, "ok"))
        .unwrap()
}

#[test]
fn a_silent_or_stalled_tls_handshake_is_closed_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let running = tls_server(
        dir.path(),
        Limits {
            connections: 4,
            timeout: Duration::from_millis(200),
            ..Limits::default()
        },
    );
    // Silent; and a handshake record begun, never finished.
    for sent in [&b""[..], &[0x16, 0x03, 0x01, 0x02, 0x00][..]] {
        let mut client = TcpStream::connect(running.addr).unwrap();
        client.write_all(sent).unwrap();
        // Far past the deadline: were the server to wait on, this read would fail the test.
        client
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut reply = Vec::new();
        let closed = client.read_to_end(&mut reply);
        assert!(
            closed.is_ok()
                || closed
                    .as_ref()
                    .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
            "{sent:?}: {closed:?}"
        );
    }
    assert_eq!(running.stop(Duration::from_secs(5)), 0);
}

#[test]
fn a_tls_key_that_is_no_key_or_not_the_certificates_is_named() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/tls");
    let key = dir.path().join("key.pem");
    // The certificate as the key: no private key in it.
    std::fs::copy(fixtures.join("server.pem"), &key).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = Tls::load(&fixtures.join("server.pem"), &key)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("tls_key {}: not a PEM private key", key.display())),
        "{err}"
    );
    // The key as the certificate (a checkout leaves the fixture 0644: made private again).
    std::fs::copy(fixtures.join("server.key"), &key).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = Tls::load(&key, &key).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "tls_cert {}: has no BEGIN CERTIFICATE",
            key.display()
        )),
        "{err}"
    );
    // The CA's certificate with the server's key.
    let err = Tls::load(&fixtures.join("ca.pem"), &key)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("does not go with") && err.contains("ca.pem"),
        "{err}"
    );
}
