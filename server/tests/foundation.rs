//! The foundation, driven through the real router on SQLite and on PostgreSQL.
mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::TestApp;

const PW: &str = app::db::seed::DEMO_PASSWORD;

on_both!(
    health_reports_database,
    demo_data_is_seeded_once,
    sign_in_sets_a_hardened_cookie_and_rotates_the_session,
    wrong_passwords_lock_the_account,
    unknown_user_and_deactivated_user_are_refused_and_audited,
    sign_out_ends_the_session,
    idle_and_absolute_lifetimes_end_sessions,
    handler_is_refused_administration,
    admin_creates_users_with_validation,
    deactivating_a_user_ends_its_sessions,
    departments_are_edited_with_validation,
    password_change_follows_policy,
    audit_log_is_append_only_and_filterable,
    cross_origin_writes_are_refused,
    pages_carry_security_headers_and_guards,
    oversized_bodies_are_refused,
    guessing_the_current_password_locks_and_signs_out,
    sign_in_never_redirects_off_site,
    request_ids_are_kept_only_when_well_formed,
    static_files_are_untouched_by_concurrent_pages,
);

async fn health_reports_database(app: &TestApp) {
    let r = app.get("/healthz", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let j = r.json();
    assert_eq!(j["status"], "ok");
    let kind = match app.backend {
        common::Backend::Sqlite => "sqlite",
        common::Backend::Postgres => "postgres",
    };
    assert_eq!(j["database"]["kind"], kind);
    assert_eq!(j["database"]["status"], "up");
    assert!(
        r.headers.get("x-request-id").is_some(),
        "every response carries its request id"
    );

    // With the database gone, health says so with 503.
    app.state.store.close().await;
    let r = app.get("/healthz", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.json()["database"]["status"], "down");
}

async fn demo_data_is_seeded_once(app: &TestApp) {
    let users = app.scalar("SELECT COUNT(*) FROM users").await;
    assert_eq!(users as usize, app::db::seed::USERS.len());
    let depts = app.scalar("SELECT COUNT(*) FROM departments").await;
    assert_eq!(depts as usize, app::db::seed::DEPARTMENTS.len());
    let zh: String = sqlx::query_scalar("SELECT name_zh FROM departments WHERE code = 'water'")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(zh, "水务局");
    // Seeding again changes nothing.
    assert!(!app::db::seed::demo(&app.state.store).await.unwrap());
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, users);
    // Every demo role is represented and passwords are argon2id hashes, never plain text.
    let plain = app
        .scalar("SELECT COUNT(*) FROM users WHERE password_hash NOT LIKE '$argon2id$%'")
        .await;
    assert_eq!(plain, 0);
}

async fn sign_in_sets_a_hardened_cookie_and_rotates_the_session(app: &TestApp) {
    let r = app.login("admin", PW).await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    let set = r
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Lax"), "{set}");
    assert!(set.contains("Path=/"), "{set}");
    let first = r.session_cookie().unwrap();
    let me = app.me(&first).await;
    assert_eq!(me["username"], "admin");
    assert_eq!(me["role"], "admin");
    assert_eq!(
        me["department_en"],
        "Administrative Approval Bureau (Big Data Centre)"
    );

    // Signing in again from the same browser issues a new id and retires the old one.
    let r = app
        .call(
            "auth/login",
            &[("username", "admin"), ("password", PW), ("next", "/")],
            Some(&first),
        )
        .await;
    let second = r.session_cookie().unwrap();
    assert_ne!(first, second);
    assert!(
        app.me(&first).await.is_null(),
        "old session id no longer works"
    );
    assert_eq!(app.me(&second).await["username"], "admin");

    // The database stores only token hashes.
    let token = second.trim_start_matches("citylink_session=");
    let raw: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE token_hash = $1")
        .bind(token)
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(raw, 0);
    assert_eq!(app.audit_count("auth.login", "success").await, 2);
}

async fn wrong_passwords_lock_the_account(app: &TestApp) {
    for i in 1..=4 {
        let r = app.login("water", "Wrong@2026!").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
        assert_eq!(r.json(), serde_json::json!("InvalidCredentials"));
    }
    let r = app.login("water", "Wrong@2026!").await;
    assert_eq!(r.status.as_u16(), 423, "fifth failure locks: {}", r.body);
    assert_eq!(r.json()["Locked"]["minutes"], 30);
    // Even the right password is refused while locked.
    let r = app.login("water", PW).await;
    assert_eq!(r.status.as_u16(), 423);
    assert!(r.session_cookie().is_none());
    assert_eq!(app.audit_count("auth.login", "failure").await, 6);

    // Other accounts are unaffected.
    assert!(app.login("landscape", PW).await.status.is_success());

    // When the lock expires, the right password works and the counter starts afresh.
    sqlx::query("UPDATE users SET locked_until = $1 WHERE username = 'water'")
        .bind(app::db::now_ms() - 1)
        .execute(app.pool())
        .await
        .unwrap();
    let r = app.login("water", PW).await;
    assert!(r.status.is_success(), "{}", r.body);
    let failures = app
        .scalar("SELECT failed_logins FROM users WHERE username = 'water'")
        .await;
    assert_eq!(failures, 0);

    // An administrator's password reset also unlocks.
    for _ in 0..5 {
        app.login("landscape", "nope").await;
    }
    assert_eq!(app.login("landscape", PW).await.status.as_u16(), 423);
    let admin = app.session("admin").await;
    let id = app.user_id("landscape").await.to_string();
    let r = app
        .call(
            "admin/user/password",
            &[
                ("id", &id),
                ("password", "Fresh#Start9"),
                ("password_confirm", "Fresh#Start9"),
            ],
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(app
        .login("landscape", "Fresh#Start9")
        .await
        .status
        .is_success());
}

async fn unknown_user_and_deactivated_user_are_refused_and_audited(app: &TestApp) {
    let r = app.login("nobody", PW).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json(), serde_json::json!("InvalidCredentials"));
    let r = app.login("", "").await;
    assert_eq!(r.status.as_u16(), 422);
    let fields: Vec<String> = r.json()["Invalid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, ["username", "password"]);

    sqlx::query("UPDATE users SET active = FALSE WHERE username = 'energy'")
        .execute(app.pool())
        .await
        .unwrap();
    let r = app.login("energy", PW).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.session_cookie().is_none());
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'auth.login' AND outcome = 'failure' AND username IN ('nobody', 'energy')",
    )
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!(n, 2);
}

async fn sign_out_ends_the_session(app: &TestApp) {
    let c = app.session("dispatcher").await;
    assert_eq!(app.me(&c).await["role"], "dispatcher");
    let r = app.call("auth/logout", &[], Some(&c)).await;
    assert!(
        r.status.is_success() || r.status.is_redirection(),
        "{}",
        r.status
    );
    let cleared = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(app.me(&c).await.is_null());
    let id = app.user_id("dispatcher").await;
    assert_eq!(
        app::db::sessions::count_for_user(&app.state.store, id)
            .await
            .unwrap(),
        0
    );
    assert_eq!(app.audit_count("auth.logout", "success").await, 1);
}

async fn idle_and_absolute_lifetimes_end_sessions(app: &TestApp) {
    let idle = app.state.config.session_idle_ms;
    let c = app.session("inspector").await;
    let now = app::db::now_ms();
    // Idle for just under the limit: still signed in.
    sqlx::query("UPDATE sessions SET last_seen_at = $1")
        .bind(now - idle + 30_000)
        .execute(app.pool())
        .await
        .unwrap();
    assert_eq!(app.me(&c).await["username"], "inspector");
    // Idle past the limit: gone, and the row is deleted.
    sqlx::query("UPDATE sessions SET last_seen_at = $1")
        .bind(now - idle - 1)
        .execute(app.pool())
        .await
        .unwrap();
    assert!(app.me(&c).await.is_null());
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 0);

    // Active but past the absolute lifetime: gone too.
    let c = app.session("inspector").await;
    sqlx::query("UPDATE sessions SET expires_at = $1")
        .bind(now - 1)
        .execute(app.pool())
        .await
        .unwrap();
    assert!(app.me(&c).await.is_null());

    // A request with a dead session is told to drop the cookie.
    let r = app.get("/", Some(&c)).await;
    let cookies: Vec<_> = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("citylink_session=;") && c.contains("Max-Age=0")),
        "{cookies:?}"
    );

    // Purging removes expired rows left by browsers that never came back.
    app.session("inspector").await;
    sqlx::query("UPDATE sessions SET last_seen_at = $1")
        .bind(now - idle - 1)
        .execute(app.pool())
        .await
        .unwrap();
    assert_eq!(
        app::db::sessions::purge_expired(&app.state.store, idle)
            .await
            .unwrap(),
        1
    );
}

async fn handler_is_refused_administration(app: &TestApp) {
    let c = app.session("water").await;
    let before = app.scalar("SELECT COUNT(*) FROM users").await;
    let r = app
        .call("admin/users", &[("filter[page]", "1")], Some(&c))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.json(), serde_json::json!("Forbidden"));
    let r = app
        .call(
            "admin/user/create",
            &[
                ("username", "intruder"),
                ("display_name", "X"),
                ("role", "admin"),
                ("department_id", "1"),
                ("password", "Intrude#2026"),
                ("password_confirm", "Intrude#2026"),
            ],
            Some(&c),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users").await,
        before,
        "nothing written"
    );
    let r = app
        .call("admin/audit", &[("filter[page]", "1")], Some(&c))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.call("admin/departments", &[], Some(&c)).await.status,
        StatusCode::FORBIDDEN
    );
    // Malformed arguments are a 400 with a reason, not a server error.
    let r = app.call("admin/users", &[], Some(&c)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.json()["BadRequest"].is_string());
    let r = app
        .call(
            "admin/department/save",
            &[
                ("id", "0"),
                ("code", "x1"),
                ("name_zh", "x"),
                ("name_en", "x"),
                ("active", "true"),
            ],
            Some(&c),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(app.audit_count("admin.users.create", "denied").await >= 1);
    // Without a session: 401, not 403.
    let r = app
        .call("admin/users", &[("filter[page]", "1")], None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json(), serde_json::json!("Unauthenticated"));
}

async fn admin_creates_users_with_validation(app: &TestApp) {
    let c = app.session("admin").await;
    let water = app
        .scalar("SELECT id FROM departments WHERE code = 'water'")
        .await
        .to_string();
    let before = app.scalar("SELECT COUNT(*) FROM users").await;
    let create = |u: &'static str,
                  role: &'static str,
                  pw: &'static str,
                  confirm: &'static str,
                  dept: String| {
        let c = c.clone();
        async move {
            app.call(
                "admin/user/create",
                &[
                    ("username", u),
                    ("display_name", "刘洋"),
                    ("role", role),
                    ("department_id", &dept),
                    ("password", pw),
                    ("password_confirm", confirm),
                ],
                Some(&c),
            )
            .await
        }
    };
    // Several problems at once, each reported against its field.
    let r = create("1x", "wizard", "short", "short", "999999".into()).await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    let errs = r.json()["Invalid"].clone();
    let kinds: std::collections::HashMap<String, String> = errs
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_string(),
                e["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(kinds["username"], "UsernameFormat");
    assert_eq!(kinds["password"], "PasswordTooShort");
    assert_eq!(kinds["role"], "UnknownRole");
    assert_eq!(kinds["department_id"], "UnknownDepartment");
    // A taken username, a weak password, a mismatch.
    let r = create(
        "water",
        "handler",
        "alllowercase1",
        "alllowercase1",
        water.clone(),
    )
    .await;
    let j = r.json();
    assert!(
        j.to_string().contains("UsernameTaken") && j.to_string().contains("PasswordWeak"),
        "{j}"
    );
    let r = create(
        "liuyang",
        "handler",
        "Good#Pass1",
        "Good#Pass2",
        water.clone(),
    )
    .await;
    assert!(r.json().to_string().contains("PasswordMismatch"));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users").await,
        before,
        "invalid input stores nothing"
    );
    assert_eq!(app.audit_count("admin.users.create", "failure").await, 3);

    let r = create(
        "liuyang",
        "handler",
        "Good#Pass1",
        "Good#Pass1",
        water.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = r.json().as_i64().unwrap();
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, before + 1);
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'admin.users.create' AND outcome = 'success' AND target_id = $1")
        .bind(id.to_string())
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(n, 1, "the write and its audit record commit together");
    let r = app.login("liuyang", "Good#Pass1").await;
    assert!(r.status.is_success());
    let me = app.me(&r.session_cookie().unwrap()).await;
    assert_eq!(me["role"], "handler");
    assert_eq!(me["department_zh"], "水务局");

    // Listing filters by text, role and department, paginated on the server.
    let r = app
        .call(
            "admin/users",
            &[("filter[q]", "LIU"), ("filter[page]", "1")],
            Some(&c),
        )
        .await;
    let page = r.json();
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["username"], "liuyang");
    let r = app
        .call(
            "admin/users",
            &[
                ("filter[role]", "handler"),
                ("filter[department_id]", &water),
            ],
            Some(&c),
        )
        .await;
    let names: Vec<String> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["liuyang", "water"]);
    // Update: role and department change apply at once to the signed-in user.
    let landscape = app
        .scalar("SELECT id FROM departments WHERE code = 'landscape'")
        .await
        .to_string();
    let r = app
        .call(
            "admin/user/update",
            &[
                ("id", &id.to_string()),
                ("display_name", "刘洋"),
                ("role", "dept_head"),
                ("department_id", &landscape),
                ("active", "true"),
            ],
            Some(&c),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let u = app
        .call("admin/user", &[("id", &id.to_string())], Some(&c))
        .await
        .json();
    assert_eq!(u["role"], "dept_head");
    assert_eq!(u["department_en"], "Landscaping Bureau");
    // An administrator cannot deactivate or demote themselves.
    let me_id = app.user_id("admin").await.to_string();
    let r = app
        .call(
            "admin/user/active",
            &[("id", &me_id), ("active", "false")],
            Some(&c),
        )
        .await;
    assert_eq!(r.status.as_u16(), 422);
    assert!(r.body.contains("NotSelf"));
}

async fn deactivating_a_user_ends_its_sessions(app: &TestApp) {
    let admin = app.session("admin").await;
    let water = app.session("water").await;
    let water2 = app.session("water").await;
    assert_eq!(app.me(&water).await["username"], "water");
    let id = app.user_id("water").await.to_string();
    let r = app
        .call(
            "admin/user/active",
            &[("id", &id), ("active", "false")],
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(app.me(&water).await.is_null());
    assert!(app.me(&water2).await.is_null());
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = 'water'").await, 0);
    assert_eq!(
        app.login("water", PW).await.status,
        StatusCode::UNAUTHORIZED
    );
    let detail: String = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'admin.users.active' AND outcome = 'success'",
    )
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert!(detail.contains("ended 2 sessions"), "{detail}");
    // Reactivated, the account signs in again.
    app.call(
        "admin/user/active",
        &[("id", &id), ("active", "true")],
        Some(&admin),
    )
    .await;
    assert!(app.login("water", PW).await.status.is_success());
}

async fn departments_are_edited_with_validation(app: &TestApp) {
    let c = app.session("admin").await;
    let save = |id: &'static str, code: &'static str, zh: &'static str, en: &'static str| {
        let c = c.clone();
        async move {
            app.call(
                "admin/department/save",
                &[
                    ("id", id),
                    ("code", code),
                    ("name_zh", zh),
                    ("name_en", en),
                    ("active", "true"),
                ],
                Some(&c),
            )
            .await
        }
    };
    let r = save("0", "water", "", "Second water").await;
    assert_eq!(r.status.as_u16(), 422);
    assert!(
        r.body.contains("CodeTaken") && r.body.contains("name_zh"),
        "{}",
        r.body
    );
    let r = save(
        "0",
        "urban-roads",
        "市政设施管理中心",
        "Municipal Facilities Centre",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = r.json().as_i64().unwrap();
    let list = app.call("admin/departments", &[], Some(&c)).await.json();
    let found = list
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(found["name_en"], "Municipal Facilities Centre");
    assert_eq!(found["user_count"], 0);
    let n = app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'admin.departments.create' AND outcome = 'success'").await;
    assert_eq!(n, 1);
}

async fn password_change_follows_policy(app: &TestApp) {
    let c = app.session("leader").await;
    let other = app.session("leader").await;
    let r = app.change_password(&c, "bad", "New#Pass2026").await;
    assert!(r.body.contains("PasswordWrong"), "{}", r.body);
    let r = app.change_password(&c, PW, "weakweak").await;
    assert!(r.body.contains("PasswordWeak"), "{}", r.body);
    let r = app.change_password(&c, PW, "New#Pass2026").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.me(&c).await["username"], "leader", "this session stays");
    assert!(app.me(&other).await.is_null(), "other sessions end");
    assert_eq!(
        app.login("leader", PW).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert!(app
        .login("leader", "New#Pass2026")
        .await
        .status
        .is_success());
}

async fn audit_log_is_append_only_and_filterable(app: &TestApp) {
    app.login("admin", "wrong").await;
    let c = app.session("admin").await;
    assert!(sqlx::query("UPDATE audit_log SET outcome = 'success'")
        .execute(app.pool())
        .await
        .is_err());
    assert!(sqlx::query("DELETE FROM audit_log")
        .execute(app.pool())
        .await
        .is_err());
    let r = app
        .call("admin/audit", &[("filter[outcome]", "failure")], Some(&c))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let p = r.json();
    assert_eq!(p["total"], 1, "{p}");
    assert_eq!(p["items"][0]["action"], "auth.login");
    assert_eq!(p["items"][0]["username"], "admin");
    let r = app
        .call(
            "admin/audit",
            &[("filter[username]", "ADM"), ("filter[outcome]", "success")],
            Some(&c),
        )
        .await;
    assert_eq!(r.json()["total"], 1);
    // Dates are Asia/Shanghai days; a day long past has nothing.
    let r = app
        .call("admin/audit", &[("filter[to]", "2020-01-01")], Some(&c))
        .await;
    assert_eq!(r.json()["total"], 0);
    // The app exposes no way to change entries: no such server function exists.
    let r = app
        .call("admin/audit/delete", &[("id", "1")], Some(&c))
        .await;
    assert!(r.status.is_client_error(), "{}", r.status);
}

async fn cross_origin_writes_are_refused(app: &TestApp) {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/auth/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "127.0.0.1:3000")
        .header("origin", "https://evil.example")
        .body(Body::from(format!(
            "username=admin&password={}&next=%2F",
            common::enc(PW)
        )))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.session_cookie().is_none());
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 0);
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/auth/logout")
        .header("sec-fetch-site", "cross-site")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(req).await.status, StatusCode::FORBIDDEN);
}

async fn pages_carry_security_headers_and_guards(app: &TestApp) {
    let r = app.get("/login", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let csp = r
        .headers
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("nonce in CSP")
        .to_string();
    assert!(nonce.len() >= 16);
    assert!(
        r.body.contains(&format!("nonce=\"{nonce}\"")),
        "scripts carry the response's nonce"
    );
    assert_eq!(
        r.headers.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(),
        "nosniff"
    );
    assert_eq!(
        r.headers.get(header::REFERRER_POLICY).unwrap(),
        "same-origin"
    );
    assert!(r.body.contains("name=\"username\"") && r.body.contains("name=\"password\""));
    // Every page, however many, carries its own nonce in both places (a regression: the
    // policy once came from render-time state and was sometimes missing).
    for _ in 0..30 {
        let r = app.get("/login", None).await;
        let csp = r
            .headers
            .get(header::CONTENT_SECURITY_POLICY)
            .unwrap()
            .to_str()
            .unwrap();
        let n = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|s| s.split('\'').next())
            .expect("page policy");
        assert!(r.body.contains(&format!("nonce=\"{n}\"")));
    }
    // A new nonce every response.
    let again = app.get("/login", None).await;
    assert_ne!(
        again
            .headers
            .get(header::CONTENT_SECURITY_POLICY)
            .unwrap()
            .to_str()
            .unwrap(),
        csp
    );

    // Chinese unless the browser asks for English.
    assert!(r.body.contains("登录"), "Chinese by default");
    let req = Request::builder()
        .uri("/login")
        .header(header::ACCEPT_LANGUAGE, "en-US,en;q=0.9")
        .body(Body::empty())
        .unwrap();
    let en = app.send(req).await;
    assert!(en.body.contains("Sign in"), "English from Accept-Language");

    // Signed out: admin pages send you to sign in, and back afterwards.
    let r = app.get("/admin/users", None).await;
    assert!(r.status.is_redirection(), "{}", r.status);
    assert_eq!(
        r.headers.get(header::LOCATION).unwrap(),
        "/login?next=/admin/users"
    );
    // A handler gets 403 and no user data.
    let c = app.session("water").await;
    let r = app.get("/admin/users", Some(&c)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!r.body.contains("dispatcher"), "no user list leaks");
    // The administrator gets the list, rendered on the server.
    let c = app.session("admin").await;
    let r = app.get("/admin/users", Some(&c)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("dispatcher") && r.body.contains("水务局"));
    let r = app.get("/no/such/page", Some(&c)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn oversized_bodies_are_refused(app: &TestApp) {
    let big = "x".repeat(2 * 1024 * 1024);
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/auth/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::CONTENT_LENGTH, big.len())
        .body(Body::from(format!("username={big}&password=x&next=/")))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'auth.login'")
            .await,
        0
    );
}

async fn guessing_the_current_password_locks_and_signs_out(app: &TestApp) {
    let c = app.session("energy").await;
    let other = app.session("energy").await;
    for i in 1..=4 {
        let r = app.change_password(&c, "Guess#0000", "New#Pass2026").await;
        assert!(r.body.contains("PasswordWrong"), "attempt {i}: {}", r.body);
    }
    let r = app.change_password(&c, "Guess#0000", "New#Pass2026").await;
    assert_eq!(r.status.as_u16(), 423, "{}", r.body);
    assert!(app.me(&c).await.is_null(), "the guessing session ends");
    assert!(app.me(&other).await.is_null(), "and every other one");
    assert_eq!(app.login("energy", PW).await.status.as_u16(), 423);
    let detail: String = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'account.password' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert!(
        detail.contains("account locked, ended 2 sessions"),
        "{detail}"
    );
}

async fn sign_in_never_redirects_off_site(app: &TestApp) {
    for (next, expect) in [
        ("/admin/users", "/admin/users"),
        ("//evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("https://evil.example/", "/"),
    ] {
        let r = app
            .call(
                "auth/login",
                &[("username", "admin"), ("password", PW), ("next", next)],
                None,
            )
            .await;
        assert!(r.status.is_success(), "{}", r.body);
        assert_eq!(
            r.headers.get(header::LOCATION).unwrap(),
            expect,
            "next={next:?}"
        );
    }
    // A signed-in visit to the sign-in page with a hostile `next` stays on this site too.
    let c = app.session("admin").await;
    let r = app.get("/login?next=%2F%2Fevil.example", Some(&c)).await;
    assert!(r.status.is_redirection(), "{}", r.status);
    assert_eq!(r.headers.get(header::LOCATION).unwrap(), "/");
}

async fn request_ids_are_kept_only_when_well_formed(app: &TestApp) {
    let get = |id: &'static str| {
        Request::builder()
            .uri("/healthz")
            .header("x-request-id", id)
            .body(Body::empty())
            .unwrap()
    };
    let r = app.send(get("lb-1234-abcd")).await;
    assert_eq!(r.headers.get("x-request-id").unwrap(), "lb-1234-abcd");
    let r = app.send(get("bad id; DROP TABLE users")).await;
    let id = r.headers.get("x-request-id").unwrap().to_str().unwrap();
    assert_ne!(id, "bad id; DROP TABLE users");
    assert_eq!(id.len(), 36, "a server-made UUID: {id}");
}

async fn static_files_are_untouched_by_concurrent_pages(app: &TestApp) {
    // Forbidden pages (403, page policy) rendered while static files are served: the files
    // keep their own status and headers.
    let c = app.session("water").await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (router, cookie) = (app.router.clone(), c.clone());
        tasks.push(tokio::spawn(async move {
            use tower::ServiceExt;
            let page = Request::builder()
                .uri("/admin/users")
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap();
            let file = Request::builder()
                .uri("/favicon.svg")
                .body(Body::empty())
                .unwrap();
            let (p, f) = tokio::join!(router.clone().oneshot(page), router.oneshot(file));
            (p.unwrap(), f.unwrap())
        }));
    }
    for t in tasks {
        let (page, file) = t.await.unwrap();
        assert_eq!(page.status(), StatusCode::FORBIDDEN);
        assert_eq!(file.status(), StatusCode::OK);
        assert_eq!(
            file.headers().get(header::CONTENT_TYPE).unwrap(),
            "image/svg+xml"
        );
        let csp = file
            .headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .unwrap()
            .to_str()
            .unwrap();
        assert_eq!(csp, "default-src 'none'; frame-ancestors 'none'");
    }
    let r = app.get("/pkg/missing.wasm", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
