//! The built `citylink` binary, started as an operator would: configured by environment
//! variables only, answering health checks, and finishing requests in flight on SIGTERM.
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 exchange over a plain socket; returns the whole response text.
fn http(port: u16, request: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn binary_serves_from_environment_and_drains_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("citylink-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_citylink"))
        .env(
            "DATABASE_URL",
            format!("sqlite:{}/nested/city.db", dir.display()),
        )
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LEPTOS_SITE_ROOT", "../public")
        .env("LEPTOS_OUTPUT_NAME", "citylink")
        .env_remove("CITYLINK_DEMO")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start citylink");

    // Up and healthy: the database file and its folder were created, demo data written
    // (on by default for a new embedded database).
    let started = Instant::now();
    let health = loop {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            break out;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"kind\":\"sqlite\""), "{health}");
    assert!(dir.join("nested/city.db").exists());

    // A sign-in (argon2: tens of milliseconds) is in flight when SIGTERM arrives; it still
    // gets its answer, and the process then exits cleanly.
    let body = "username=admin&password=Demo%402026%21&next=%2F";
    let req = format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let in_flight = std::thread::spawn(move || http(port, &req));
    std::thread::sleep(Duration::from_millis(15));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let answer = in_flight.join().unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "in-flight request finished: {answer}"
    );
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("set-cookie: citylink_session="),
        "{answer}"
    );
    let status = child.wait().unwrap();
    assert!(status.success(), "clean exit after SIGTERM: {status:?}");
    // And it no longer listens.
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
