//! Open311 GeoReport v2 (`/open311/v2/`): every resource in JSON and XML, posting a request
//! with a key and following it through the dispatcher's steps, the filters of the request
//! list, every error in the spec's format, CORS, and that nothing personal is published.
mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{enc, Backend, Resp, TestApp};
use serde_json::Value;

const DAY: i64 = 86_400_000;
/// A place inside the unit grids (Yingze, near the centre) and its grid's centre.
const LAT: &str = "37.8612";
const LONG: &str = "112.5487";

async fn dept(app: &TestApp, code: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT id FROM departments WHERE code = $1")
        .bind(code)
        .fetch_one(app.pool())
        .await
        .unwrap()
}

/// A key of the city management bureau with these scopes; (id, secret).
async fn key(app: &TestApp, source: &str, scopes: &[&str]) -> (i64, String) {
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    let k = app::db::skyeye::create_key(
        &app.state.store,
        None,
        &app::db::audit::Actor::default(),
        "311 app",
        source,
        dept(app, "cmb").await,
        &scopes,
    )
    .await
    .expect("create key");
    (k.id, k.secret)
}

async fn get(app: &TestApp, path: &str, lang: Option<&str>) -> Resp {
    let mut b = Request::builder().method(Method::GET).uri(path);
    if let Some(l) = lang {
        b = b.header(header::ACCEPT_LANGUAGE, l);
    }
    app.send(b.body(Body::empty()).unwrap()).await
}

/// Posts a form as Open311 clients do (no cookie; `origin` as a browser on another site sends).
async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)], origin: Option<&str>) -> Resp {
    let body = form
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::CONTENT_LENGTH, body.len());
    if let Some(o) = origin {
        b = b.header("origin", o).header("sec-fetch-site", "cross-site");
    }
    app.send(b.body(Body::from(body)).unwrap()).await
}

async fn post_multipart(app: &TestApp, path: &str, form: &[(&str, &str)]) -> Resp {
    let boundary = "open311TestBoundary";
    let mut body = String::new();
    for (k, v) in form {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    app.send(req).await
}

/// A valid report of a broken manhole cover, with contact details, plus `extra`.
fn report_form<'a>(secret: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("api_key", secret),
        ("jurisdiction_id", "taiyuan.gov.cn"),
        ("service_code", "manhole"),
        ("lat", LAT),
        ("long", LONG),
        ("address_string", "迎泽大街 100 号门口"),
        ("description", "井盖缺失，夜里很危险"),
        ("attribute[danger]", "yes"),
        ("email", "citizen.private@example.cn"),
        ("phone", "13800138000"),
        ("first_name", "Mingzhu"),
        ("last_name", "Privatename"),
        ("device_id", "device-secret-77"),
        ("account_id", "acct-secret-88"),
        ("media_url", "https://example.org/photo.jpg"),
    ];
    for (k, v) in extra {
        f.retain(|(fk, _)| fk != k);
        f.push((k, v));
    }
    f
}

/// Posts a report of `service` (with its required answer) and returns its request id (the
/// case code).
async fn post_ok(app: &TestApp, secret: &str, service: &str) -> String {
    let mut form = report_form(secret, &[("service_code", service)]);
    if service != "manhole" {
        form.retain(|(k, _)| *k != "attribute[danger]");
    }
    if matches!(
        service,
        "pothole" | "flooding" | "fallen_tree" | "traffic_signal"
    ) {
        form.push(("attribute[danger]", "no"));
    }
    let r = post_form(app, "/open311/v2/requests.json", &form, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn xml(body: &str) -> roxmltree::Document<'_> {
    assert!(
        body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        "{body}"
    );
    roxmltree::Document::parse(body).unwrap_or_else(|e| panic!("not XML ({e}): {body}"))
}

/// Element children of `n` named `name`.
fn kids<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Vec<roxmltree::Node<'a, 'i>> {
    n.children()
        .filter(|c| c.is_element() && c.has_tag_name(name))
        .collect()
}

/// Text of the one child `name` of `n` ("" when empty).
fn text(n: roxmltree::Node, name: &str) -> String {
    let k = kids(n, name);
    assert_eq!(k.len(), 1, "one <{name}> in <{}>", n.tag_name().name());
    k[0].text().unwrap_or("").to_string()
}

/// Checks an error answer in both formats: status, the spec's shape, the code in the body
/// equal to the status; returns the descriptions.
fn spec_error(r: &Resp, status: StatusCode) -> Vec<String> {
    assert_eq!(r.status, status, "{}", r.body);
    let ct = r.headers[header::CONTENT_TYPE].to_str().unwrap();
    if ct.starts_with("text/xml") {
        let doc = xml(&r.body);
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "errors");
        let errs = kids(root, "error");
        assert!(!errs.is_empty());
        errs.iter()
            .map(|e| {
                assert_eq!(text(*e, "code"), status.as_u16().to_string());
                text(*e, "description")
            })
            .collect()
    } else {
        assert!(ct.starts_with("application/json"), "{ct}");
        let v = r.json();
        let errs = v.as_array().unwrap_or_else(|| panic!("array: {}", r.body));
        assert!(!errs.is_empty());
        errs.iter()
            .map(|e| {
                assert_eq!(e["code"], status.as_u16(), "{e}");
                assert_eq!(e.as_object().unwrap().len(), 2, "{e}");
                e["description"].as_str().unwrap().to_string()
            })
            .collect()
    }
}

async fn reports(app: &TestApp) -> i64 {
    app.scalar("SELECT COUNT(*) FROM citizen_reports").await
}

async fn case_of(app: &TestApp, code: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT id FROM cases WHERE code = $1")
        .bind(code)
        .fetch_one(app.pool())
        .await
        .unwrap()
}

/// One workflow step through the real server function, as the dispatcher's page sends it.
async fn step(app: &TestApp, user: &str, case_id: i64, action: &str, extra: &[(&str, &str)]) {
    let c = app.session(user).await;
    let v: i64 = sqlx::query_scalar("SELECT version FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(app.pool())
        .await
        .unwrap();
    let (id, v) = (case_id.to_string(), v.to_string());
    let mut fields: Vec<(&str, &str)> = vec![("case_id", &id), ("action", action), ("version", &v)];
    fields.extend_from_slice(extra);
    let r = app.multipart("cases/step", &fields, &[], Some(&c)).await;
    assert!(r.status.is_success(), "{action}: {} {}", r.status, r.body);
}

/// The one request `GET requests/{id}.json` answers.
async fn read_back(app: &TestApp, code: &str, query: &str) -> Value {
    let r = get(
        app,
        &format!("/open311/v2/requests/{code}.json{query}"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    v[0].clone()
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap().to_string())
        .collect()
}

fn iso(ms: i64) -> String {
    citylink_server::http::open311::datetime(ms)
}

// ---- Tests ----

async fn discovery_and_services(app: &TestApp) {
    for path in [
        "/open311/discovery.json",
        "/open311/v2/discovery.json",
        "/open311/discovery.xml",
    ] {
        let r = app
            .send(
                Request::builder()
                    .uri(path)
                    .header(header::HOST, "city.example:8080")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        if path.ends_with(".json") {
            let v = r.json();
            assert!(v["changeset"].is_string() && v["contact"].is_string());
            assert!(v["key_service"].as_str().unwrap().contains("open311"));
            let e = &v["endpoints"][0];
            assert_eq!(e["url"], "http://city.example:8080/open311/v2");
            assert_eq!(e["specification"], "http://wiki.open311.org/GeoReport_v2");
            assert_eq!(e["type"], "production");
            assert_eq!(
                e["formats"],
                serde_json::json!(["application/json", "text/xml"])
            );
        } else {
            assert!(r.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/xml"));
            let doc = xml(&r.body);
            let root = doc.root_element();
            assert_eq!(root.tag_name().name(), "discovery");
            let ep = kids(kids(root, "endpoints")[0], "endpoint")[0];
            assert_eq!(text(ep, "url"), "http://city.example:8080/open311/v2");
            let formats: Vec<String> = kids(kids(ep, "formats")[0], "format")
                .iter()
                .map(|f| f.text().unwrap().to_string())
                .collect();
            assert_eq!(formats, ["application/json", "text/xml"]);
        }
    }

    // The service list: every category, Chinese by default.
    let r = get(app, "/open311/v2/services.json", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let list = r.json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), app::domain::citizen::SERVICES.len());
    let manhole = list
        .iter()
        .find(|s| s["service_code"] == "manhole")
        .unwrap();
    assert_eq!(manhole["service_name"], "井盖破损或丢失");
    assert_eq!(manhole["metadata"], true);
    assert_eq!(manhole["type"], "realtime");
    assert_eq!(manhole["group"], "公用设施");
    assert!(manhole["keywords"].as_str().unwrap().contains("manhole"));
    assert!(manhole["description"].as_str().unwrap().contains("井盖"));
    let parking = list
        .iter()
        .find(|s| s["service_code"] == "parking")
        .unwrap();
    assert_eq!(parking["metadata"], false);
    assert_eq!(
        manhole
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>()
            .len(),
        7
    );

    // English by parameter or by Accept-Language; the parameter wins.
    for (path, lang, name) in [
        (
            "/open311/v2/services.json?locale=en-US",
            None,
            "Broken or missing manhole cover",
        ),
        (
            "/open311/v2/services.json",
            Some("en-GB,en;q=0.9"),
            "Broken or missing manhole cover",
        ),
        (
            "/open311/v2/services.json?locale=zh",
            Some("en"),
            "井盖破损或丢失",
        ),
    ] {
        let v = get(app, path, lang).await.json();
        let m = v
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["service_code"] == "manhole")
            .unwrap()
            .clone();
        assert_eq!(m["service_name"], name, "{path} {lang:?}");
    }

    // The same list in XML.
    let r = get(
        app,
        "/open311/v2/services.xml?jurisdiction_id=taiyuan.gov.cn",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let doc = xml(&r.body);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "services");
    let services = kids(root, "service");
    assert_eq!(services.len(), list.len());
    let m = services
        .iter()
        .find(|s| text(**s, "service_code") == "manhole")
        .unwrap();
    assert_eq!(text(*m, "service_name"), "井盖破损或丢失");
    assert_eq!(text(*m, "metadata"), "true");
    assert_eq!(text(*m, "type"), "realtime");
    assert_eq!(text(*m, "group"), "公用设施");

    // A service definition with its attributes.
    let r = get(app, "/open311/v2/services/manhole.json?locale=en", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let d = r.json();
    assert_eq!(d["service_code"], "manhole");
    let a = &d["attributes"][0];
    assert_eq!(a["variable"], true);
    assert_eq!(a["code"], "danger");
    assert_eq!(a["datatype"], "singlevaluelist");
    assert_eq!(a["required"], true);
    assert_eq!(a["order"], 1);
    assert!(a["datatype_description"].is_null());
    assert_eq!(a["description"], "Is it a danger to people or traffic?");
    assert_eq!(
        a["values"],
        serde_json::json!([{"key": "yes", "name": "Yes"}, {"key": "no", "name": "No"}])
    );
    let r = get(app, "/open311/v2/services/streetlight.json", None).await;
    let a = &r.json()["attributes"][0];
    assert_eq!(
        (a["code"].as_str(), a["datatype"].as_str()),
        (Some("pole_number"), Some("string"))
    );
    assert_eq!(a["required"], false);
    assert!(a["datatype_description"].is_string());
    let r = get(app, "/open311/v2/services/construction_noise.xml", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let doc = xml(&r.body);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "service_definition");
    assert_eq!(text(root, "service_code"), "construction_noise");
    let attr = kids(kids(root, "attributes")[0], "attribute")[0];
    assert_eq!(text(attr, "code"), "at_night");
    assert_eq!(text(attr, "variable"), "true");
    assert_eq!(text(attr, "required"), "true");
    assert_eq!(text(attr, "order"), "1");
    let values = kids(kids(attr, "values")[0], "value");
    assert_eq!(
        values
            .iter()
            .map(|v| (text(*v, "key"), text(*v, "name")))
            .collect::<Vec<_>>(),
        [
            ("yes".to_string(), "是".to_string()),
            ("no".into(), "否".into())
        ]
    );

    // Unknown service, jurisdiction and resource: 404 in the spec's form, in either format.
    let d = spec_error(
        &get(app, "/open311/v2/services/nope.json", Some("en")).await,
        StatusCode::NOT_FOUND,
    );
    assert!(d[0].contains("nope"), "{d:?}");
    spec_error(
        &get(app, "/open311/v2/services/nope.xml", None).await,
        StatusCode::NOT_FOUND,
    );
    for path in [
        "/open311/v2/services.json?jurisdiction_id=beijing.gov.cn",
        "/open311/v2/services.xml?jurisdiction_id=beijing.gov.cn",
        "/open311/v2/services/manhole.json?jurisdiction_id=beijing.gov.cn",
        "/open311/v2/requests.xml?jurisdiction_id=beijing.gov.cn",
        "/open311/discovery.json?jurisdiction_id=beijing.gov.cn",
    ] {
        let d = spec_error(&get(app, path, Some("en")).await, StatusCode::NOT_FOUND);
        assert!(d[0].contains("jurisdiction_id"), "{path}: {d:?}");
    }
    for path in [
        "/open311/v2/tokens/abc.json",
        "/open311/v2/services.html",
        "/open311/v2/services/manhole.html",
        "/open311/v3/services.xml",
    ] {
        spec_error(&get(app, path, None).await, StatusCode::NOT_FOUND);
    }

    // A category whose catalogue class is switched off is no service any more.
    sqlx::query(
        "UPDATE case_classes SET active = FALSE WHERE kind = 'component' AND code = '0110'",
    )
    .execute(app.pool())
    .await
    .unwrap();
    let v = get(app, "/open311/v2/services.json", None).await.json();
    assert_eq!(v.as_array().unwrap().len(), list.len() - 1);
    assert!(!v.to_string().contains("streetlight"));
    spec_error(
        &get(app, "/open311/v2/services/streetlight.json", None).await,
        StatusCode::NOT_FOUND,
    );
}

async fn post_and_follow(app: &TestApp) {
    let (key_id, secret) = key(app, "app-311", &["open311"]).await;
    let before = reports(app).await;
    let r = post_form(
        app,
        "/open311/v2/requests.json",
        &report_form(&secret, &[]),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v.as_array().unwrap().len(), 1);
    let code = v[0]["service_request_id"].as_str().unwrap().to_string();
    // The public id is the case code; the tracking code goes only to the poster, in the
    // notice, and is never an Open311 id.
    let case_code: String = sqlx::query_scalar("SELECT code FROM cases ORDER BY id DESC LIMIT 1")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(code, case_code);
    let tracking: String = sqlx::query_scalar(
        "SELECT r.code FROM citizen_reports r JOIN cases c ON c.id = r.case_id WHERE c.code = $1",
    )
    .bind(&code)
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert!(v[0]["service_notice"].as_str().unwrap().contains(&tracking));
    assert!(v[0]["account_id"].is_null());
    assert_eq!(reports(app).await, before + 1);

    // An ordinary case in the dispatcher's queue; the contact details kept for staff only.
    let case_id = case_of(app, &code).await;
    let (state, source, address, lon): (String, String, String, f64) =
        sqlx::query_as("SELECT state, source, address, lon FROM cases WHERE id = $1")
            .bind(case_id)
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!((state.as_str(), source.as_str()), ("reported", "citizen"));
    assert_eq!(address, "迎泽大街 100 号门口");
    assert!((lon - 112.5487).abs() < 1e-9);
    let (channel, kid, email, account): (String, i64, String, String) = sqlx::query_as(
        "SELECT channel, api_key_id, email, account_id FROM citizen_reports \
         WHERE case_id = (SELECT id FROM cases WHERE code = $1)",
    )
    .bind(&code)
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!(
        (channel.as_str(), kid, email.as_str(), account.as_str()),
        (
            "open311",
            key_id,
            "citizen.private@example.cn",
            "acct-secret-88"
        )
    );
    let disp = app.session("dispatcher").await;
    let q = app.call("cases/queue", &[], Some(&disp)).await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.body);
    assert!(
        q.json()
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"].as_i64() == Some(case_id)),
        "not in the dispatcher's queue: {}",
        q.body
    );

    // Read back: open, before dispatch the command centre is responsible; the grid's centre
    // and its street stand in for the place.
    let req = read_back(app, &code, "").await;
    assert_eq!(req["service_request_id"], code.as_str());
    assert_eq!(req["status"], "open");
    assert!(req["status_notes"].is_null());
    assert_eq!(req["service_code"], "manhole");
    assert_eq!(req["service_name"], "井盖破损或丢失");
    // The citizen's text is published only once the command centre has filed the report.
    assert!(req["description"].is_null(), "{req}");
    assert_eq!(req["agency_responsible"], "太原市数字化城市管理指挥中心");
    assert!(req["service_notice"].is_null());
    let reported: i64 = sqlx::query_scalar("SELECT reported_at FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(req["requested_datetime"], iso(reported).as_str());
    assert!(req["requested_datetime"]
        .as_str()
        .unwrap()
        .ends_with("+08:00"));
    assert!(req["expected_datetime"]
        .as_str()
        .unwrap()
        .ends_with("+08:00"));
    let (grid, district, street): (String, String, String) = sqlx::query_as(
        "SELECT g.code, g.district_zh, g.street_zh FROM cases c JOIN grids g ON g.id = c.grid_id WHERE c.id = $1",
    )
    .bind(case_id)
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!(req["address_id"], grid.as_str());
    assert_eq!(req["address"], format!("{district}{street}").as_str());
    let (lat, long) = (req["lat"].as_f64().unwrap(), req["long"].as_f64().unwrap());
    assert!(
        (lat - 37.865).abs() < 1e-6 && (long - 112.545).abs() < 1e-6,
        "{lat} {long}"
    );
    assert!(req["media_url"].is_null() && req["zipcode"].is_null());
    let keys: Vec<&String> = req.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 17, "{keys:?}");

    // In English, and as XML.
    let en = read_back(app, &code, "?locale=en").await;
    assert_eq!(en["service_name"], "Broken or missing manhole cover");
    assert_eq!(
        en["agency_responsible"],
        "Taiyuan Digital City Management Command Centre"
    );
    let r = get(app, &format!("/open311/v2/requests/{code}.xml"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let doc = xml(&r.body);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "service_requests");
    let one = kids(root, "request");
    assert_eq!(one.len(), 1);
    assert_eq!(text(one[0], "service_request_id"), code);
    assert_eq!(text(one[0], "status"), "open");
    assert_eq!(text(one[0], "status_notes"), "");
    assert_eq!(text(one[0], "long"), long.to_string());

    // The dispatcher files it with a note for the public, then dispatches it.
    step(
        app,
        "dispatcher",
        case_id,
        "file",
        &[("public_note", "已立案，将派往水务局处置")],
    )
    .await;
    let req = read_back(app, &code, "").await;
    assert_eq!(req["status"], "open");
    assert_eq!(req["status_notes"], "已立案，将派往水务局处置");
    assert!(req["description"]
        .as_str()
        .unwrap()
        .starts_with("井盖缺失，夜里很危险"));
    let water = dept(app, "water").await.to_string();
    step(
        app,
        "dispatcher",
        case_id,
        "dispatch",
        &[("department_id", &water)],
    )
    .await;
    let req = read_back(app, &code, "").await;
    assert_eq!(req["agency_responsible"], "水务局");
    assert_eq!(
        req["status_notes"], "已立案，将派往水务局处置",
        "the newest public note stays"
    );
    let updated: i64 = sqlx::query_scalar("SELECT updated_at FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(req["updated_datetime"], iso(updated).as_str());
    let en = read_back(app, &code, "?locale=en").await;
    assert_eq!(en["agency_responsible"], "Water Affairs Bureau");

    // Another, posted as XML and multipart, is rejected by the dispatcher: closed.
    let r = post_form(
        app,
        "/open311/v2/requests.xml",
        &report_form(&secret, &[("service_code", "parking")])
            .into_iter()
            .filter(|(k, _)| *k != "attribute[danger]")
            .collect::<Vec<_>>(),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let doc = xml(&r.body);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "service_requests");
    let req = kids(root, "request")[0];
    let xml_code = text(req, "service_request_id");
    assert!(!text(req, "service_notice").is_empty());
    assert!(kids(req, "account_id")[0].text().is_none());
    let r = post_multipart(
        app,
        "/open311/v2/requests.json",
        &[
            ("api_key", &secret),
            ("service_code", "garbage"),
            ("lat", "37.80"),
            ("long", "112.60"),
            ("description", "路口垃圾堆了三天"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mp_code = r.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();
    step(
        app,
        "dispatcher",
        case_of(app, &mp_code).await,
        "reject",
        &[
            ("note", "非城管事项"),
            ("public_note", "不属于城市管理范围"),
        ],
    )
    .await;
    let req = read_back(app, &mp_code, "").await;
    assert_eq!(req["status"], "closed");
    assert_eq!(req["status_notes"], "不属于城市管理范围");
    assert!(req["expected_datetime"].is_null());
    assert_eq!(
        read_back(app, &xml_code, "").await["service_code"],
        "parking"
    );

    // A browser client on another site: the write guard lets Open311 through, CORS headers
    // say any origin may read; a preflight is answered. Server functions stay guarded.
    let r = post_form(
        app,
        "/open311/v2/requests.json",
        &report_form(&secret, &[("service_code", "parking")])
            .into_iter()
            .filter(|(k, _)| *k != "attribute[danger]")
            .collect::<Vec<_>>(),
        Some("https://311app.example"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let r = app
        .send(
            Request::builder()
                .method(Method::OPTIONS)
                .uri("/open311/v2/requests.json")
                .header("origin", "https://311app.example")
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    assert_eq!(r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let methods = r.headers[header::ACCESS_CONTROL_ALLOW_METHODS]
        .to_str()
        .unwrap();
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    assert!(r.headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase()
        .contains("content-type"));
    let r = get(app, "/open311/v2/services.json", None).await;
    assert_eq!(r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let r = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/api/public/report")
                .header(header::HOST, "127.0.0.1:3000")
                .header("origin", "https://311app.example")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("service_code=parking"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}

async fn errors_in_the_spec_format(app: &TestApp) {
    let (_, secret) = key(app, "app-311", &["open311"]).await;
    let (_, alerts_only) = key(app, "vms-x", &["alerts"]).await;
    let (revoked_id, revoked) = key(app, "old-app", &["open311"]).await;
    app::db::skyeye::revoke_key(
        &app.state.store,
        app.user_id("admin").await,
        &app::db::audit::Actor::default(),
        revoked_id,
    )
    .await
    .unwrap();
    let before = reports(app).await;
    let en = "/open311/v2/requests.json?locale=en";

    // Keys: missing, unknown, revoked, without the scope: 403.
    let mut no_key = report_form(&secret, &[]);
    no_key.retain(|(k, _)| *k != "api_key");
    let d = spec_error(
        &post_form(app, en, &no_key, None).await,
        StatusCode::FORBIDDEN,
    );
    assert!(d[0].contains("api_key"), "{d:?}");
    for (k, word) in [
        ("clk_not-a-real-key-at-all-000000", "not valid"),
        (revoked.as_str(), "revoked"),
        (alerts_only.as_str(), "scope open311"),
    ] {
        let d = spec_error(
            &post_form(app, en, &report_form(k, &[]), None).await,
            StatusCode::FORBIDDEN,
        );
        assert!(d[0].contains(word), "{word}: {d:?}");
    }
    // The same in XML and in Chinese.
    let d = spec_error(
        &post_form(
            app,
            "/open311/v2/requests.xml",
            &report_form(&revoked, &[]),
            None,
        )
        .await,
        StatusCode::FORBIDDEN,
    );
    assert!(d[0].contains("吊销"), "{d:?}");

    // Jurisdiction, service.
    let d = spec_error(
        &post_form(
            app,
            en,
            &report_form(&secret, &[("jurisdiction_id", "sf.gov")]),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
    );
    assert!(d[0].contains("jurisdiction_id"), "{d:?}");
    let d = spec_error(
        &post_form(
            app,
            en,
            &report_form(&secret, &[("service_code", "ufo")]),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
    );
    assert!(d[0].contains("service_code 'ufo'"), "{d:?}");
    let mut no_service = report_form(&secret, &[]);
    no_service.retain(|(k, _)| *k != "service_code");
    let d = spec_error(
        &post_form(app, en, &no_service, None).await,
        StatusCode::BAD_REQUEST,
    );
    assert!(d[0].contains("service_code"), "{d:?}");

    // Location: an address alone, nothing, not numbers, outside the grids.
    let mut address_only = report_form(&secret, &[]);
    address_only.retain(|(k, _)| *k != "lat" && *k != "long");
    let d = spec_error(
        &post_form(app, en, &address_only, None).await,
        StatusCode::BAD_REQUEST,
    );
    assert!(
        d[0].contains("lat and long are required") && d[0].contains("address_string"),
        "{d:?}"
    );
    address_only.retain(|(k, _)| *k != "address_string");
    let d = spec_error(
        &post_form(app, en, &address_only, None).await,
        StatusCode::BAD_REQUEST,
    );
    assert!(d[0].contains("lat and long are required"), "{d:?}");
    let d = spec_error(
        &post_form(
            app,
            en,
            &report_form(&secret, &[("lat", "north"), ("long", "200")]),
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
    assert_eq!(d.len(), 2, "{d:?}");
    assert!(
        d.iter().any(|e| e.starts_with("long:")) && d.iter().any(|e| e.starts_with("lat:")),
        "{d:?}"
    );
    let d = spec_error(
        &post_form(
            app,
            en,
            &report_form(&secret, &[("lat", "37.5"), ("long", "112.1")]),
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
    assert!(d[0].contains("outside the city's unit grids"), "{d:?}");

    // Attributes: a value not in the list, a required one missing.
    let d = spec_error(
        &post_form(
            app,
            en,
            &report_form(&secret, &[("attribute[danger]", "maybe")]),
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
    assert!(d[0].starts_with("attribute[danger]:"), "{d:?}");
    let mut unanswered = report_form(&secret, &[]);
    unanswered.retain(|(k, _)| *k != "attribute[danger]");
    let d = spec_error(
        &post_form(app, en, &unanswered, None).await,
        StatusCode::BAD_REQUEST,
    );
    assert!(d[0].contains("attribute[danger]"), "{d:?}");
    // No description, a bad email: both said at once.
    let d = spec_error(
        &post_form(
            app,
            en,
            &report_form(&secret, &[("description", " "), ("email", "nobody")]),
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
    assert!(d.iter().any(|e| e.starts_with("description:")), "{d:?}");
    assert!(d.iter().any(|e| e.starts_with("email:")), "{d:?}");
    // A body that is no form.
    let r = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/open311/v2/requests.json")
                .header(header::CONTENT_TYPE, "multipart/form-data; boundary=x")
                .body(Body::from("garbage"))
                .unwrap(),
        )
        .await;
    spec_error(&r, StatusCode::BAD_REQUEST);
    assert_eq!(reports(app).await, before, "no error created anything");

    // Reading: bad dates, an unknown status, a window too wide, unknown ids.
    for q in [
        "start_date=yesterday",
        "end_date=2026-13-45T00:00:00Z",
        "status=fixed",
        "start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
        "start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z",
    ] {
        spec_error(
            &get(app, &format!("/open311/v2/requests.json?{q}"), None).await,
            StatusCode::BAD_REQUEST,
        );
        spec_error(
            &get(app, &format!("/open311/v2/requests.xml?{q}"), None).await,
            StatusCode::BAD_REQUEST,
        );
    }
    let d = spec_error(
        &get(
            app,
            "/open311/v2/requests.json?locale=en&start_date=soon",
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
    assert!(d[0].contains("start_date 'soon'"), "{d:?}");
    for id in ["TY-2345-6789", "nonsense", "TY-0000-0000"] {
        let d = spec_error(
            &get(
                app,
                &format!("/open311/v2/requests/{id}.json?locale=en"),
                None,
            )
            .await,
            StatusCode::NOT_FOUND,
        );
        assert!(d[0].contains(id), "{d:?}");
        spec_error(
            &get(app, &format!("/open311/v2/requests/{id}.xml"), None).await,
            StatusCode::NOT_FOUND,
        );
    }
    // A wrong method is no Open311 resource either, but CORS still applies.
    let r = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/open311/v2/services.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
}

async fn request_filters_and_privacy(app: &TestApp) {
    let (_, secret) = key(app, "app-311", &["open311"]).await;
    let now = app::db::now_ms();
    let pothole = post_ok(app, &secret, "pothole").await;
    let manhole = post_ok(app, &secret, "manhole").await;
    let light = post_ok(app, &secret, "streetlight").await;
    let old = post_ok(app, &secret, "garbage").await;
    let ancient = post_ok(app, &secret, "flyers").await;
    // `old` was reported 30 days ago, `ancient` 100 days ago (outside the default window).
    for (code, days) in [(&old, 30), (&ancient, 100)] {
        sqlx::query("UPDATE cases SET reported_at = $1 WHERE id = $2")
            .bind(now - days * DAY)
            .bind(case_of(app, code).await)
            .execute(app.pool())
            .await
            .unwrap();
    }
    step(
        app,
        "dispatcher",
        case_of(app, &light).await,
        "reject",
        &[("note", "重复")],
    )
    .await;

    let list = |q: String| async move {
        let r = get(app, &format!("/open311/v2/requests.json{q}"), None).await;
        assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.body);
        let v = r.json();
        // The XML list says the same.
        let x = get(app, &format!("/open311/v2/requests.xml{q}"), None).await;
        assert_eq!(x.status, StatusCode::OK, "{}", x.body);
        let doc = xml(&x.body);
        assert_eq!(doc.root_element().tag_name().name(), "service_requests");
        let xml_ids: Vec<String> = kids(doc.root_element(), "request")
            .iter()
            .map(|r| text(*r, "service_request_id"))
            .collect();
        assert_eq!(xml_ids, ids(&v), "{q}");
        v
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let set = |codes: &[&String]| sorted(codes.iter().map(|c| c.to_string()).collect());

    // Default: the last 90 days, newest first.
    let all = list(String::new()).await;
    assert_eq!(ids(&all)[3], old, "the oldest of the window is last");
    assert_eq!(set(&[&pothole, &manhole, &light, &old]), sorted(ids(&all)));
    // By service code, one or several.
    assert_eq!(
        ids(&list("?service_code=pothole".into()).await),
        [pothole.as_str()]
    );
    assert_eq!(
        sorted(ids(&list(
            "?service_code=pothole,manhole&jurisdiction_id=taiyuan.gov.cn".into()
        )
        .await)),
        set(&[&pothole, &manhole])
    );
    assert!(ids(&list("?service_code=nothing".into()).await).is_empty());
    // By status.
    assert_eq!(ids(&list("?status=closed".into()).await), [light.as_str()]);
    assert_eq!(
        sorted(ids(&list("?status=open".into()).await)),
        set(&[&pothole, &manhole, &old])
    );
    assert_eq!(ids(&list("?status=open,closed".into()).await).len(), 4);
    assert_eq!(list("?status=closed".into()).await[0]["status"], "closed");
    // By dates: the last ten days; a window around the old one (W3C with an offset and Z).
    let q = format!("?start_date={}", enc(&iso(now - 10 * DAY)));
    assert_eq!(
        sorted(ids(&list(q).await)),
        set(&[&pothole, &manhole, &light])
    );
    let q = format!(
        "?start_date={}&end_date={}",
        enc(&iso(now - 40 * DAY)),
        enc(&chrono::DateTime::from_timestamp_millis(now - 20 * DAY)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    );
    assert_eq!(ids(&list(q).await), [old.as_str()]);
    let q = format!("?end_date={}", enc(&iso(now - 95 * DAY)));
    assert_eq!(
        ids(&list(q).await),
        [ancient.as_str()],
        "90 days up to end_date"
    );
    // By ids: several, any spelling; they override the window and the other filters.
    let q = format!(
        "?service_request_id={},{}&service_code=pothole&status=closed",
        ancient.to_lowercase(),
        manhole
    );
    assert_eq!(sorted(ids(&list(q).await)), set(&[&ancient, &manhole]));

    // Nothing personal and no exact place in the published list or one request.
    let all = get(app, "/open311/v2/requests.json", None).await;
    let everything = list(format!(
        "?service_request_id={pothole},{manhole},{light},{old},{ancient}"
    ))
    .await;
    assert_eq!(ids(&everything).len(), 5);
    let xml_one = get(app, &format!("/open311/v2/requests/{manhole}.xml"), None).await;
    for body in [all.body.as_str(), &everything.to_string(), &xml_one.body] {
        for secret_text in [
            "citizen.private@example.cn",
            "13800138000",
            "Mingzhu",
            "Privatename",
            "device-secret-77",
            "acct-secret-88",
            "迎泽大街 100 号门口",
            "example.org/photo.jpg",
            LAT,
            LONG,
        ] {
            assert!(
                !body.contains(secret_text),
                "{secret_text} published: {body}"
            );
        }
        assert!(!body.contains("example.cn") && !body.contains("138001"));
    }
    for r in everything.as_array().unwrap() {
        assert_eq!(r.as_object().unwrap().len(), 17, "{r}");
        assert!(r["email"].is_null() && r["phone"].is_null());
    }
}

on_both!(
    discovery_and_services,
    post_and_follow,
    errors_in_the_spec_format,
    request_filters_and_privacy
);

/// A key that posts too fast: 429 in the spec's form with Retry-After; other keys go on.
mod rate_limit {
    use super::*;

    async fn run(backend: Backend) {
        let app = TestApp::with_config(backend, |c| c.api_rate = 1).await;
        common::within_limit(async {
            let (_, fast) = key(&app, "fast-app", &["open311"]).await;
            let (_, other) = key(&app, "calm-app", &["open311"]).await;
            let mut limited = None;
            for _ in 0..4 {
                let r = post_form(
                    &app,
                    "/open311/v2/requests.xml",
                    &report_form(&fast, &[]),
                    None,
                )
                .await;
                if r.status == StatusCode::TOO_MANY_REQUESTS {
                    limited = Some(r);
                    break;
                }
                assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            }
            let r = limited.expect("a 429 within four quick posts");
            let wait: u64 = r.headers[header::RETRY_AFTER]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(wait >= 1);
            let d = spec_error(&r, StatusCode::TOO_MANY_REQUESTS);
            assert!(d[0].contains("秒"), "{d:?}");
            let r = post_form(
                &app,
                "/open311/v2/requests.json",
                &report_form(&other, &[]),
                None,
            )
            .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        })
        .await;
        app.finish().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        run(Backend::Postgres).await;
    }
}
