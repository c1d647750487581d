//! What the HTTP server hands a browser: the OBS page and its script, the bundled avatar, and a
//! user's own avatar where the config names one.

use kagura_tests::*;

#[tokio::test]
async fn bundled_avatar_pages_and_user_avatars_are_served() {
    require_obs_page();
    let dir = temp_data_dir("avatar-file");
    std::fs::create_dir_all(&dir).unwrap();
    let own = dir.join("own.vrm");
    // Any GLB will do for serving; this one is the mannequin with a marker appended.
    let mut own_bytes = kagura_avatar::mannequin_vrm();
    own_bytes.extend_from_slice(b"own avatar");
    std::fs::write(&own, &own_bytes).unwrap();

    let mut config = test_config("avatars");
    config.avatars.insert("main".into(), own.clone());
    let server = start_server(config).await.unwrap();

    let (code, page) = http_get(server.http_addr, "/obs").await.unwrap();
    assert_eq!(code, 200);
    let script = page
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the page loads a script");
    let (code, body) = http_get(server.http_addr, script).await.unwrap();
    assert_eq!(code, 200, "{script}");
    assert!(
        body.len() > 100_000,
        "the bundle carries three.js and three-vrm"
    );

    let default = http_get_bytes(server.http_addr, "/avatars/default.vrm")
        .await
        .unwrap();
    assert_eq!(default, kagura_avatar::mannequin_vrm());
    let main = http_get_bytes(server.http_addr, "/avatars/main.vrm")
        .await
        .unwrap();
    assert_eq!(main, own_bytes, "the performer's own avatar");
    let (code, _) = http_get(server.http_addr, "/avatars/readme.txt")
        .await
        .unwrap();
    assert_eq!(code, 404);

    let mut bad = test_config("bad-avatar");
    bad.avatar = Some(dir.join("missing.vrm"));
    let err = start_server(bad)
        .await
        .err()
        .expect("a missing avatar is an error at start");
    assert!(format!("{err:#}").contains("missing.vrm"), "{err:#}");
}
