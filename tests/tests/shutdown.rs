//! Dropping a `Server` ends everything it started: its sockets are released and every
//! connection it served (QUIC subscribers, WebSockets, idle HTTP keep-alives) is closed.

use std::time::Duration;

use kagura_protocol::control::Subscription;
use kagura_tests::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

const DEADLINE: Duration = Duration::from_secs(10);

/// Reads until the peer closes; `Ok` once it has.
async fn until_closed(stream: &mut TcpStream) -> std::io::Result<()> {
    let mut buf = [0u8; 4096];
    while stream.read(&mut buf).await? > 0 {}
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_server_closes_every_connection_and_frees_its_ports() {
    let server = start_server(test_config("shutdown")).await.unwrap();
    let http = server.http_addr;
    let vmc = server.vmc_addrs[0];
    let mut subscriber = subscribe(&server, Subscription::All).await.unwrap();

    // An idle HTTP/1.1 keep-alive connection, after one request.
    let mut keep_alive = TcpStream::connect(("127.0.0.1", http.port()))
        .await
        .unwrap();
    keep_alive
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: k\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = keep_alive.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("200 OK"));

    // A WebSocket subscriber (handshake by hand).
    let mut websocket = TcpStream::connect(("127.0.0.1", http.port()))
        .await
        .unwrap();
    websocket
        .write_all(
            b"GET /ws?performer=main HTTP/1.1\r\nHost: k\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .unwrap();
    let n = websocket.read(&mut buf).await.unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).contains("101 Switching Protocols"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );

    drop(server);
    timeout(DEADLINE, until_closed(&mut keep_alive))
        .await
        .expect("the keep-alive connection is closed")
        .unwrap();
    timeout(DEADLINE, until_closed(&mut websocket))
        .await
        .expect("the WebSocket is closed")
        .unwrap();
    let err = timeout(DEADLINE, subscriber.next_frame())
        .await
        .expect("the QUIC subscriber is told")
        .unwrap_err();
    assert!(format!("{err:#}").contains("server stopped"), "{err:#}");
    // The VMC port can be bound again at once: its task and socket are gone.
    timeout(DEADLINE, async {
        UdpSocket::bind(vmc)
            .await
            .expect("the VMC port is free again")
    })
    .await
    .unwrap();
}
