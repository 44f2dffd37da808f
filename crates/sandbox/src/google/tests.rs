//! End-to-end tests of the fake over raw HTTP/1.1, with the URL, query and body shapes
//! google-sheets4 7 and yup-oauth2 12 send.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::{Value, json};

use super::*;

struct Reply {
    status: u16,
    body: Value,
}

/// One HTTP/1.1 request over a fresh connection, read until the server closes it.
async fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let reply = crate::raw_http::request(addr, method, path, headers, body).await;
    let body = if reply.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&reply.body).unwrap_or_else(|_| {
            panic!(
                "non-JSON reply body: {}",
                String::from_utf8_lossy(&reply.body)
            )
        })
    };
    Reply {
        status: reply.status,
        body,
    }
}

/// A started fake with spreadsheet `sid` and a bearer token.
struct Client {
    fake: FakeGoogle,
    addr: String,
    auth: String,
}

impl Client {
    async fn start(config: FakeGoogleConfig) -> Client {
        let fake = FakeGoogle::start(config).await;
        fake.create_spreadsheet("sid");
        let addr = fake
            .base_url()
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let auth = format!("Bearer {}", fake.issue_access_token());
        Client { fake, addr, auth }
    }

    async fn get(&self, path: &str) -> Reply {
        let headers = [("Authorization", self.auth.as_str())];
        http(&self.addr, "GET", path, &headers, b"").await
    }

    async fn send(&self, method: &str, path: &str, body: &Value) -> Reply {
        let headers = [
            ("Authorization", self.auth.as_str()),
            ("Content-Type", "application/json"),
        ];
        http(
            &self.addr,
            method,
            path,
            &headers,
            body.to_string().as_bytes(),
        )
        .await
    }

    /// `values.update` as google-sheets4 sends it.
    async fn update(&self, range: &str, input: &str, values: Value) -> Reply {
        let path = format!("/v4/spreadsheets/sid/values/{range}?valueInputOption={input}&alt=json");
        self.send("PUT", &path, &json!({ "values": values })).await
    }

    async fn batch_update(&self, requests: Value) -> Reply {
        let path = "/v4/spreadsheets/sid:batchUpdate?alt=json";
        self.send("POST", path, &json!({ "requests": requests }))
            .await
    }
}

fn assert_google_error(reply: &Reply, code: u16, status: &str, needle: &str) {
    assert_eq!(reply.status, code, "{}", reply.body);
    assert_eq!(reply.body["error"]["code"], code, "{}", reply.body);
    assert_eq!(reply.body["error"]["status"], status, "{}", reply.body);
    let message = reply.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "{message:?} lacks {needle:?}");
}

fn rows(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
        .collect()
}

// -------------------------------------------------------------------------------------------
// OAuth

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// Signs claims with the sandbox key exactly as yup-oauth2 does (padded URL-safe base64).
fn sign_jwt(claims: &Value) -> String {
    let pem: String = sandbox_key()
        .private_key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(pem)
        .expect("sandbox PEM is base64");
    let key = RsaKeyPair::from_pkcs8(&der).expect("sandbox key is a PKCS#8 RSA key");
    let b64 = base64::engine::general_purpose::URL_SAFE;
    let mut jwt = b64.encode(r#"{"alg":"RS256","typ":"JWT"}"#);
    jwt.push('.');
    jwt.push_str(&b64.encode(claims.to_string()));
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        jwt.as_bytes(),
        &mut signature,
    )
    .expect("sign");
    jwt.push('.');
    jwt.push_str(&b64.encode(signature));
    jwt
}

fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                char::from(b).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn post_token(fake: &FakeGoogle, assertion: &str) -> Reply {
    let addr = fake.base_url();
    let addr = addr.trim_start_matches("http://").trim_end_matches('/');
    let body = format!(
        "grant_type={}&assertion={}",
        form_encode(oauth::JWT_BEARER),
        form_encode(assertion)
    );
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    http(addr, "POST", "/token", &headers, body.as_bytes()).await
}

fn claims(fake: &FakeGoogle) -> Value {
    let iat = now();
    json!({
        "iss": TEST_CLIENT_EMAIL,
        "aud": fake.token_uri(),
        "exp": iat + 3595,
        "iat": iat,
        "sub": null,
        "scope": SPREADSHEETS_SCOPE,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_jwt_gets_a_token_that_opens_the_sheets_api() {
    let fake = FakeGoogle::start(FakeGoogleConfig::default()).await;
    fake.create_spreadsheet("sid");
    let reply = post_token(&fake, &sign_jwt(&claims(&fake))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["expires_in"], 3600);
    let token = reply.body["access_token"].as_str().expect("access_token");

    let addr = fake.base_url();
    let addr = addr.trim_start_matches("http://").trim_end_matches('/');
    let auth = format!("Bearer {token}");
    let got = http(
        addr,
        "GET",
        "/v4/spreadsheets/sid?alt=json",
        &[("Authorization", &auth)],
        b"",
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["sheets"][0]["properties"]["title"], "Sheet1");
    let stats = fake.stats();
    assert_eq!(
        (stats.token_calls, stats.tokens_issued, stats.reads),
        (1, 1, 1)
    );

    // The key JSON is what yup-oauth2 reads: its fields and token_uri point here.
    let key: Value = serde_json::from_str(&fake.service_account_key_json()).expect("key JSON");
    assert_eq!(key["type"], "service_account");
    assert_eq!(key["client_email"], TEST_CLIENT_EMAIL);
    assert_eq!(key["token_uri"], fake.token_uri());
    assert!(
        key["private_key"]
            .as_str()
            .is_some_and(|k| k.starts_with("-----BEGIN PRIVATE KEY-----"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_endpoint_rejects_bad_grants() {
    let fake = FakeGoogle::start(FakeGoogleConfig::default()).await;
    let good = claims(&fake);
    let with = |name: &str, value: Value| {
        let mut claims = good.clone();
        claims[name] = value;
        claims
    };

    let drive = post_token(
        &fake,
        &sign_jwt(&with(
            "scope",
            json!("https://www.googleapis.com/auth/drive"),
        )),
    )
    .await;
    assert_eq!(drive.status, 400);
    assert_eq!(drive.body["error"], "invalid_scope", "{}", drive.body);
    assert!(drive.body["error_description"].is_string());

    let two_scopes = format!("{SPREADSHEETS_SCOPE} https://www.googleapis.com/auth/drive.file");
    let reply = post_token(&fake, &sign_jwt(&with("scope", json!(two_scopes)))).await;
    assert_eq!(reply.body["error"], "invalid_scope");

    let aud = post_token(
        &fake,
        &sign_jwt(&with("aud", json!("https://oauth2.googleapis.com/token"))),
    )
    .await;
    assert_eq!(aud.status, 400);
    assert_eq!(aud.body["error"], "invalid_grant", "{}", aud.body);

    let expired = post_token(&fake, &sign_jwt(&with("exp", json!(now() - 10)).clone())).await;
    assert_eq!(expired.body["error"], "invalid_grant");
    let future = post_token(&fake, &sign_jwt(&with("iat", json!(now() + 600)))).await;
    assert_eq!(future.body["error"], "invalid_grant");
    let iss = post_token(&fake, &sign_jwt(&with("iss", json!("x@y.com")))).await;
    assert_eq!(iss.body["error"], "invalid_grant");
    let sub = post_token(&fake, &sign_jwt(&with("sub", json!("person@example.com")))).await;
    assert_eq!(sub.status, 401);
    assert_eq!(sub.body["error"], "unauthorized_client");

    // Bad signature: claims swapped after signing.
    let signed = sign_jwt(&good);
    let mut parts: Vec<&str> = signed.split('.').collect();
    let forged = base64::engine::general_purpose::URL_SAFE
        .encode(with("scope", json!(SPREADSHEETS_SCOPE)).to_string() + " ");
    parts[1] = &forged;
    let reply = post_token(&fake, &parts.join(".")).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["error"], "invalid_grant");
    assert_eq!(reply.body["error_description"], "Invalid JWT Signature.");

    let reply = post_token(&fake, "not-a-jwt").await;
    assert_eq!(reply.body["error"], "invalid_grant");

    let stats = fake.stats();
    assert_eq!(stats.token_calls, 9);
    assert_eq!(stats.tokens_issued, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sheets_calls_need_an_issued_bearer_token() {
    let c = Client::start(FakeGoogleConfig::default()).await;
    let none = http(
        &c.addr,
        "GET",
        "/v4/spreadsheets/sid/values/Sheet1!A1",
        &[],
        b"",
    )
    .await;
    assert_google_error(
        &none,
        401,
        "UNAUTHENTICATED",
        "missing required authentication",
    );
    let forged = http(
        &c.addr,
        "GET",
        "/v4/spreadsheets/sid/values/Sheet1!A1",
        &[("Authorization", "Bearer ya29.made-up")],
        b"",
    )
    .await;
    assert_google_error(&forged, 401, "UNAUTHENTICATED", "invalid authentication");
    let ok = c.get("/v4/spreadsheets/sid/values/Sheet1!A1").await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(
        ok.body,
        json!({ "range": "Sheet1!A1", "majorDimension": "ROWS" })
    );
    let missing = c.get("/v4/spreadsheets/nope/values/Sheet1!A1").await;
    assert_google_error(&missing, 404, "NOT_FOUND", "not found");
    assert_eq!(c.fake.stats().rejected_401, 2);
}

// -------------------------------------------------------------------------------------------
// Structure

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_sheet_with_frozen_header_and_update_properties() {
    let c = Client::start(FakeGoogleConfig::default()).await;
    let reply = c
        .batch_update(json!([
            { "addSheet": { "properties": {
                "title": "Orders",
                "gridProperties": { "rowCount": 10, "columnCount": 5, "frozenRowCount": 1 }
            } } },
            { "updateSheetProperties": {
                "properties": { "sheetId": 0, "gridProperties": { "frozenRowCount": 1 } },
                "fields": "gridProperties.frozenRowCount"
            } },
            { "appendDimension": { "sheetId": 0, "dimension": "ROWS", "length": 500 } },
        ]))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["spreadsheetId"], "sid");
    let added = &reply.body["replies"][0]["addSheet"]["properties"];
    assert_eq!(added["title"], "Orders");
    assert_eq!(added["index"], 1);
    assert_eq!(added["gridProperties"]["frozenRowCount"], 1);
    assert_eq!(reply.body["replies"][1], json!({}));
    let sheet_id = added["sheetId"].as_i64().expect("sheetId");

    let orders = c.fake.tab_properties("sid", "Orders").expect("Orders");
    assert_eq!(orders.sheet_id as i64, sheet_id);
    assert_eq!(
        (
            orders.row_count,
            orders.column_count,
            orders.frozen_row_count
        ),
        (10, 5, 1)
    );
    let sheet1 = c.fake.tab_properties("sid", "Sheet1").expect("Sheet1");
    assert_eq!(
        (
            sheet1.row_count,
            sheet1.column_count,
            sheet1.frozen_row_count
        ),
        (1500, 26, 1)
    );

    let got = c
        .get("/v4/spreadsheets/sid?fields=sheets.properties&alt=json")
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["sheets"][1]["properties"]["sheetId"], sheet_id);
    assert_eq!(got.body["sheets"][1]["properties"]["sheetType"], "GRID");
    assert_eq!(
        got.body["sheets"][1]["properties"]["gridProperties"],
        json!({ "rowCount": 10, "columnCount": 5, "frozenRowCount": 1 })
    );

    // Duplicate title, a broad mask that zeroes rowCount, unknown and unsupported kinds: 400.
    let dup = c
        .batch_update(json!([{ "addSheet": { "properties": { "title": "orders" } } }]))
        .await;
    assert_google_error(&dup, 400, "INVALID_ARGUMENT", "already exists");
    let broad = c
        .batch_update(json!([{ "updateSheetProperties": {
            "properties": { "sheetId": 0, "gridProperties": { "frozenRowCount": 1 } },
            "fields": "gridProperties"
        } }]))
        .await;
    assert_google_error(&broad, 400, "INVALID_ARGUMENT", "rowCount");
    let no_mask = c
        .batch_update(json!([{ "updateSheetProperties": { "properties": { "sheetId": 0 } } }]))
        .await;
    assert_google_error(&no_mask, 400, "INVALID_ARGUMENT", "fields");
    let unknown = c.batch_update(json!([{ "frobnicate": {} }])).await;
    assert_google_error(&unknown, 400, "INVALID_ARGUMENT", "Unknown name");
    let unsupported = c.batch_update(json!([{ "repeatCell": {} }])).await;
    assert_google_error(&unsupported, 400, "INVALID_ARGUMENT", "does not implement");
    let freeze_all = c
        .batch_update(json!([{ "updateSheetProperties": {
            "properties": { "sheetId": sheet_id, "gridProperties": { "frozenRowCount": 10 } },
            "fields": "gridProperties.frozenRowCount"
        } }]))
        .await;
    assert_google_error(&freeze_all, 400, "INVALID_ARGUMENT", "freeze all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spreadsheet_batch_update_is_atomic() {
    let c = Client::start(FakeGoogleConfig::default()).await;
    let reply = c
        .batch_update(json!([
            { "addSheet": { "properties": { "title": "New" } } },
            { "appendDimension": { "sheetId": 0, "dimension": "ROWS", "length": 10 } },
            { "appendDimension": { "sheetId": 424242, "dimension": "ROWS", "length": 10 } },
        ]))
        .await;
    assert_google_error(
        &reply,
        400,
        "INVALID_ARGUMENT",
        "requests[2].appendDimension",
    );
    assert_eq!(c.fake.tab_titles("sid"), ["Sheet1"]);
    assert_eq!(
        c.fake.tab_properties("sid", "Sheet1").map(|t| t.row_count),
        Some(1000)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insert_and_delete_dimension_move_cells() {
    let c = Client::start(FakeGoogleConfig::default()).await;
    c.fake.set_values(
        "sid",
        "Sheet1",
        rows(&[&["h1", "h2"], &["a", "b"], &["c", "d"]]),
    );
    let reply = c
        .batch_update(json!([
            { "insertDimension": { "range": { "sheetId": 0, "dimension": "ROWS", "startIndex": 1, "endIndex": 2 }, "inheritFromBefore": true } },
            { "deleteDimension": { "range": { "sheetId": 0, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 1 } } },
        ]))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        c.fake.values("sid", "Sheet1"),
        rows(&[&["h2"], &[], &["b"], &["d"]])
    );
    let props = c.fake.tab_properties("sid", "Sheet1").expect("tab");
    assert_eq!((props.row_count, props.column_count), (1001, 25));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workbook_cell_limit() {
    let c = Client::start(FakeGoogleConfig {
        max_cells: 30_000,
        ..FakeGoogleConfig::default()
    })
    .await;
    // Sheet1 is 1000×26 = 26,000 cells; a default new tab would add 26,000 more.
    let reply = c
        .batch_update(json!([{ "addSheet": { "properties": { "title": "Big" } } }]))
        .await;
    assert_google_error(
        &reply,
        400,
        "INVALID_ARGUMENT",
        "This action would increase the number of cells in the workbook above the limit of 30000 cells.",
    );
    let reply = c
        .batch_update(
            json!([{ "appendDimension": { "sheetId": 0, "dimension": "ROWS", "length": 200 } }]),
        )
        .await;
    assert_google_error(
        &reply,
        400,
        "INVALID_ARGUMENT",
        "above the limit of 30000 cells",
    );
    let reply = c
        .batch_update(json!([{ "addSheet": { "properties": {
            "title": "Small", "gridProperties": { "rowCount": 100, "columnCount": 10 } } } }]))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(c.fake.total_cells("sid"), 27_000);
}

// -------------------------------------------------------------------------------------------
// Values

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_keeps_text_and_user_entered_is_counted() {
    let c = Client::start(FakeGoogleConfig::default()).await;
    let raw = c
        .update(
            "Sheet1!A1:C1",
            "RAW",
            json!([["=SUM(A1:A2)", "+821012345678", "0012"]]),
        )
        .await;
    assert_eq!(raw.status, 200, "{}", raw.body);
    assert_eq!(raw.body["updatedRange"], "Sheet1!A1:C1");
    assert_eq!(raw.body["updatedCells"], 3);
    assert_eq!(
        c.fake.cell("sid", "Sheet1", 0, 0),
        Some(CellValue::Text("=SUM(A1:A2)".into()))
    );
    let read = c
        .get(
            "/v4/spreadsheets/sid/values/Sheet1!A1:C1?valueRenderOption=UNFORMATTED_VALUE&alt=json",
        )
        .await;
    assert_eq!(
        read.body["values"],
        json!([["=SUM(A1:A2)", "+821012345678", "0012"]])
    );
    assert_eq!(c.fake.stats().user_entered_writes, 0);

    let typed = c
        .update(
            "Sheet1!A2",
            "USER_ENTERED",
            json!([["=SUM(A1:A2)", "0012", 7]]),
        )
        .await;
    assert_eq!(typed.status, 200, "{}", typed.body);
    assert_eq!(
        c.fake.cell("sid", "Sheet1", 1, 0),
        Some(CellValue::Formula("=SUM(A1:A2)".into()))
    );
    assert_eq!(
        c.fake.cell("sid", "Sheet1", 1, 1),
        Some(CellValue::Number(12.0))
    );
    let read = c
        .get("/v4/spreadsheets/sid/values/Sheet1!B2:C2?valueRenderOption=UNFORMATTED_VALUE")
        .await;
    assert_eq!(read.body["values"], json!([[12, 7]]));
    let stats = c.fake.stats();
    assert_eq!(stats.user_entered_writes, 1);
    assert_eq!(stats.ranges_written, ["Sheet1!A1:C1", "Sheet1!A2:C2"]);
    assert_eq!(stats.applied_writes, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_values_are_rejected() {
    let c = Client::start(FakeGoogleConfig::default()).await;
    let null = c
        .update("Sheet1!A1", "RAW", json!([["k", null, "x"]]))
        .await;
    assert_google_error(&null, 400, "INVALID_ARGUMENT", "values[0][1]");
    let long = c
        .update("Sheet1!A1", "RAW", json!([["x".repeat(50_001)]]))
        .await;
    assert_google_error(&long, 400, "INVALID_ARGUMENT", "50000 characters");
    let nested = c.update("Sheet1!A1", "RAW", json!([[["x"]]])).await;
    assert_google_error(&nested, 400, "INVALID_ARGUMENT", "values[0][0]");
    let no_option = c
        .send(
            "PUT",
            "/v4/spreadsheets/sid/values/Sheet1!A1",
            &json!({ "values": [["x"]] }),
        )
        .await;
    assert_google_error(&no_option, 400, "INVALID_ARGUMENT", "valueInputOption");
    let bad_option = c.update("Sheet1!A1", "PLAIN", json!([["x"]])).await;
    assert_google_error(&bad_option, 400, "INVALID_ARGUMENT", "PLAIN");
    let unknown_param = c
        .get("/v4/spreadsheets/sid/values/Sheet1!A1?valueRenderOptions=FORMULA")
        .await;
    assert_google_error(
        &unknown_param,
        400,
        "INVALID_ARGUMENT",
        "Cannot bind query parameter",
    );
    let unknown_field = c
        .send(
            "PUT",
            "/v4/spreadsheets/sid/values/Sheet1!A1?valueInputOption=RAW",
            &json!({ "values": [["x"]], "vals": 1 }),
        )
        .await;
    assert_google_error(&unknown_field, 400, "INVALID_ARGUMENT", "unknown field");
    let unknown_tab = c.update("Nope!A1", "RAW", json!([["x"]])).await;
    assert_google_error(
        &unknown_tab,
        400,
        "INVALID_ARGUMENT",
        "Unable to parse range: Nope!A1",
    );
    let beyond = c.update("Sheet1!A1000", "RAW", json!([["x"], ["y"]])).await;
    assert_google_error(
        &beyond,
        400,
        "INVALID_ARGUMENT",
        "Range ('Sheet1'!A1000:A1001) exceeds grid limits. Max rows: 1000, max columns: 26",
    );
    let too_wide = c
        .update("Sheet1!A1:B1", "RAW", json!([["a", "b", "c"]]))
        .await;
    assert_google_error(
        &too_wide,
        400,
        "INVALID_ARGUMENT",
        "tried writing to column [C]",
    );
    let read_beyond = c.get("/v4/spreadsheets/sid/values/Sheet1!A1:AA2").await;
    assert_google_error(&read_beyond, 400, "INVALID_ARGUMENT", "exceeds grid limits");
    let huge = vec![b' '; routes::MAX_BODY_BYTES + 10];
    let headers = [
        ("Authorization", c.auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let reply = http(
        &c.addr,
        "POST",
        "/v4/spreadsheets/sid/values:batchUpdate",
        &headers,
        &huge,
    )
    .await;
    assert_google_error(&reply, 400, "INVALID_ARGUMENT", "payload size exceeds");
    assert!(c.fake.stats().max_request_bytes > routes::MAX_BODY_BYTES);
    assert!(
        c.fake.values("sid", "Sheet1").is_empty(),
        "nothing was written"
    );
    assert_eq!(c.fake.stats().applied_writes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_batch_update_is_atomic_and_batch_get_reads_in_order() {
    let c = Client::start(FakeGoogleConfig::default()).await;
    let body = json!({
        "valueInputOption": "RAW",
        "data": [
            { "range": "Sheet1!A1:B1", "values": [["key", "name"]] },
            { "range": "Missing!A2", "values": [["k1", "x"]] },
        ],
    });
    let reply = c
        .send(
            "POST",
            "/v4/spreadsheets/sid/values:batchUpdate?alt=json",
            &body,
        )
        .await;
    assert_google_error(
        &reply,
        400,
        "INVALID_ARGUMENT",
        "Unable to parse range: Missing!A2",
    );
    assert!(c.fake.values("sid", "Sheet1").is_empty());

    let body = json!({
        "valueInputOption": "RAW",
        "data": [
            { "range": "Sheet1!A1:B1", "values": [["key", "name"]] },
            { "range": "Sheet1!A2", "majorDimension": "COLUMNS", "values": [["k1", "k2"], ["x"]] },
        ],
    });
    let reply = c
        .send(
            "POST",
            "/v4/spreadsheets/sid/values:batchUpdate?alt=json",
            &body,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["totalUpdatedCells"], 5);
    assert_eq!(reply.body["totalUpdatedSheets"], 1);
    assert_eq!(reply.body["responses"][1]["updatedRange"], "Sheet1!A2:B3");
    assert_eq!(
        c.fake.values("sid", "Sheet1"),
        rows(&[&["key", "name"], &["k1", "x"], &["k2"]])
    );

    // google-sheets4 form-encodes `ranges` (`'My Sheet'!A:A` → `%27My+Sheet%27%21A%3AA`).
    let reply = c
        .get("/v4/spreadsheets/sid/values:batchGet?ranges=Sheet1%211%3A1&ranges=%27Sheet1%27%21A%3AA&majorDimension=COLUMNS&valueRenderOption=UNFORMATTED_VALUE&alt=json")
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["valueRanges"][0]["range"], "Sheet1!A1:Z1");
    assert_eq!(
        reply.body["valueRanges"][0]["values"],
        json!([["key"], ["name"]])
    );
    assert_eq!(reply.body["valueRanges"][1]["range"], "Sheet1!A1:A1000");
    assert_eq!(
        reply.body["valueRanges"][1]["values"],
        json!([["key", "k1", "k2"]])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn special_titles_arrive_percent_encoded() {
    let c = Client::start(FakeGoogleConfig::default()).await;
    let reply = c
        .batch_update(json!([
            { "addSheet": { "properties": { "title": "주문 #1" } } },
            { "addSheet": { "properties": { "title": "It's?" } } },
        ]))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    // Url::parse percent-encodes the space and Hangul; `#` and `?` must be pre-encoded.
    let korean = "'%EC%A3%BC%EB%AC%B8%20%231'!A1";
    let reply = c.update(korean, "RAW", json!([["한글", "값"]])).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["updatedRange"], "'주문 #1'!A1:B1");
    assert_eq!(c.fake.values("sid", "주문 #1"), rows(&[&["한글", "값"]]));
    let reply = c.update("'It''s%3F'!B2", "RAW", json!([["q"]])).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["updatedRange"], "'It''s?'!B2");
    let read = c.get("/v4/spreadsheets/sid/values/'It''s%3F'").await;
    assert_eq!(read.body["values"], json!([[], ["", "q"]]));
    // What an unencoded `#` does: the fragment is cut off and the range names no tab.
    let cut = c
        .get("/v4/spreadsheets/sid/values/'%EC%A3%BC%EB%AC%B8%20")
        .await;
    assert_google_error(&cut, 400, "INVALID_ARGUMENT", "Unable to parse range");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_finds_the_table_and_grows_the_grid() {
    let c = Client::start(FakeGoogleConfig::default()).await;
    let reply = c
        .batch_update(json!([{ "addSheet": { "properties": {
            "title": "Data", "gridProperties": { "rowCount": 2, "columnCount": 2, "frozenRowCount": 1 } } } }]))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let header = c
        .update("Data!A1:B1", "RAW", json!([["key", "name"]]))
        .await;
    assert_eq!(header.status, 200, "{}", header.body);

    let path = "/v4/spreadsheets/sid/values/Data!A1:append?valueInputOption=RAW&insertDataOption=INSERT_ROWS&includeValuesInResponse=false&alt=json";
    let body = json!({ "values": [["k1", "a", "extra"], ["k2", "b"], ["k3", "c"]] });
    let reply = c.send("POST", path, &body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["tableRange"], "Data!A1:B1");
    assert_eq!(reply.body["updates"]["updatedRange"], "Data!A2:C4");
    assert_eq!(reply.body["updates"]["updatedRows"], 3);
    assert_eq!(reply.body["updates"]["updatedCells"], 7);
    let props = c.fake.tab_properties("sid", "Data").expect("Data");
    assert_eq!((props.row_count, props.column_count), (5, 3));
    assert_eq!(
        c.fake.values("sid", "Data"),
        rows(&[
            &["key", "name"],
            &["k1", "a", "extra"],
            &["k2", "b"],
            &["k3", "c"]
        ])
    );

    // A blank row ends the table: OVERWRITE then writes into it.
    c.fake.person_insert_blank_row("sid", "Data", 2);
    let path = "/v4/spreadsheets/sid/values/Data!A1:append?valueInputOption=RAW&insertDataOption=OVERWRITE";
    let reply = c
        .send("POST", path, &json!({ "values": [["k4", "d"]] }))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["tableRange"], "Data!A1:C2");
    assert_eq!(reply.body["updates"]["updatedRange"], "Data!A3:B3");
    assert_eq!(c.fake.values("sid", "Data")[2], ["k4", "d"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applied_then_503_applies_the_write() {
    let c = Client::start(FakeGoogleConfig::default()).await;
    c.fake.inject(GoogleFault::AppliedThen503 {
        method: Method::ValuesAppend,
        times: 1,
    });
    let path = "/v4/spreadsheets/sid/values/Sheet1!A1:append?valueInputOption=RAW&insertDataOption=INSERT_ROWS";
    let first = c.send("POST", path, &json!({ "values": [["k1"]] })).await;
    assert_google_error(&first, 503, "UNAVAILABLE", "unavailable");
    assert_eq!(c.fake.values("sid", "Sheet1"), rows(&[&["k1"]]));
    // A blind retry duplicates the row.
    let retry = c.send("POST", path, &json!({ "values": [["k1"]] })).await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(c.fake.values("sid", "Sheet1"), rows(&[&["k1"], &["k1"]]));

    c.fake.inject(GoogleFault::Status {
        method: Method::AnyWrite,
        status: 500,
        times: 1,
    });
    let failed = c.update("Sheet1!B1", "RAW", json!([["x"]])).await;
    assert_google_error(&failed, 500, "INTERNAL", "Internal error");
    assert_eq!(
        c.fake.values("sid", "Sheet1")[0],
        ["k1"],
        "a Status fault applies nothing"
    );

    c.fake.inject(GoogleFault::Delay {
        method: Method::ValuesGet,
        duration: Duration::from_millis(300),
    });
    let started = std::time::Instant::now();
    let read = c.get("/v4/spreadsheets/sid/values/Sheet1!A1").await;
    assert_eq!(read.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let stats = c.fake.stats();
    assert_eq!(stats.faults_fired, 3);
    assert_eq!(stats.applied_writes, 2);
    assert_eq!(stats.writes, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_quota_429_and_recovery() {
    let window = Duration::from_millis(700);
    let c = Client::start(FakeGoogleConfig {
        writes_per_minute: 3,
        quota_window: window,
        ..FakeGoogleConfig::default()
    })
    .await;
    for i in 0..3 {
        let reply = c.update("Sheet1!A1", "RAW", json!([[i]])).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let refused = c.update("Sheet1!A1", "RAW", json!([["over"]])).await;
    assert_google_error(
        &refused,
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded for quota metric 'Write requests'",
    );
    assert_eq!(
        refused.body["error"]["details"][0]["reason"],
        "RATE_LIMIT_EXCEEDED"
    );
    // Reads are not limited by the write quota.
    assert_eq!(
        c.get("/v4/spreadsheets/sid/values/Sheet1!A1").await.status,
        200
    );
    assert_eq!(c.fake.values("sid", "Sheet1"), rows(&[&["2"]]));

    tokio::time::sleep(window).await;
    let again = c.update("Sheet1!A1", "RAW", json!([["after"]])).await;
    assert_eq!(again.status, 200, "{}", again.body);
    let stats = c.fake.stats();
    assert_eq!(stats.rejected_429, 1);
    assert_eq!(stats.writes, 5);
    assert_eq!(stats.per_method.get(&Method::ValuesUpdate), Some(&5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn person_edits_change_the_values() {
    let c = Client::start(FakeGoogleConfig::default()).await;
    c.fake.set_values(
        "sid",
        "Sheet1",
        rows(&[&["key", "amount"], &["b", "20"], &["a", "100"], &["c", "3"]]),
    );
    c.fake.person_add_column("sid", "Sheet1", "memo", 1);
    assert_eq!(
        c.fake.values("sid", "Sheet1"),
        rows(&[
            &["key", "memo", "amount"],
            &["b", "", "20"],
            &["a", "", "100"],
            &["c", "", "3"]
        ])
    );
    assert_eq!(
        c.fake
            .tab_properties("sid", "Sheet1")
            .map(|t| t.column_count),
        Some(27)
    );

    c.fake.person_sort_rows_by("sid", "Sheet1", 0, true);
    let keys: Vec<String> = c
        .fake
        .values("sid", "Sheet1")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(keys, ["key", "c", "b", "a"]);

    c.fake.person_insert_blank_row("sid", "Sheet1", 1);
    let read = c.get("/v4/spreadsheets/sid/values/Sheet1!A1:C3").await;
    assert_eq!(
        read.body["values"],
        json!([["key", "memo", "amount"], [], ["c", "", "3"]])
    );
    assert_eq!(
        c.fake.tab_properties("sid", "Sheet1").map(|t| t.row_count),
        Some(1001)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_answers_apply_only_with_a_2xx_status() {
    let c = Client::start(FakeGoogleConfig::default()).await;
    let raw = |method: &'static str, path: String, body: Value| {
        let (addr, auth) = (c.addr.clone(), c.auth.clone());
        async move {
            let headers = [
                ("Authorization", auth.as_str()),
                ("Content-Type", "application/json"),
            ];
            let bytes = if body.is_null() {
                Vec::new()
            } else {
                body.to_string().into_bytes()
            };
            crate::raw_http::request(&addr, method, &path, &headers, &bytes).await
        }
    };
    let update = |cell: &str, value: &str| {
        (
            format!("/v4/spreadsheets/sid/values/Sheet1!{cell}?valueInputOption=RAW"),
            json!({ "values": [[value]] }),
        )
    };

    // An HTML 200 to a write: applied, answer unreadable.
    c.fake.inject(GoogleFault::Malformed {
        method: Method::ValuesUpdate,
        status: 200,
        body: MalformedBody::Html,
        times: 1,
    });
    let (path, body) = update("A1", "applied");
    let reply = raw("PUT", path, body).await;
    assert_eq!(reply.status, 200);
    assert!(reply.headers["content-type"].starts_with("text/html"));
    assert_eq!(c.fake.values("sid", "Sheet1"), rows(&[&["applied"]]));

    // Any other status applies nothing; the bodies are as named.
    for (status, malformed) in [
        (502, MalformedBody::Html),
        (500, MalformedBody::TruncatedJson),
        (400, MalformedBody::UnknownStatus("NEWLY_INVENTED")),
        (503, MalformedBody::NotEnvelope),
    ] {
        c.fake.inject(GoogleFault::Malformed {
            method: Method::AnyWrite,
            status,
            body: malformed,
            times: 1,
        });
        let (path, body) = update("A1", "not applied");
        let reply = raw("PUT", path, body).await;
        assert_eq!(reply.status, status, "{malformed:?}");
        let json = serde_json::from_slice::<Value>(&reply.body);
        match malformed {
            MalformedBody::Html => assert!(reply.headers["content-type"].starts_with("text/html")),
            MalformedBody::TruncatedJson => {
                assert!(json.is_err());
                assert!(String::from_utf8_lossy(&reply.body).starts_with(r#"{"error":{"#));
            }
            MalformedBody::UnknownStatus(name) => {
                let json = json.unwrap();
                assert_eq!(json["error"]["status"], name);
                assert_eq!(json["error"]["code"], status);
            }
            MalformedBody::NotEnvelope => {
                let json = json.unwrap();
                assert!(json.get("error").is_none() && json["message"].is_string());
            }
        }
    }
    assert_eq!(c.fake.values("sid", "Sheet1"), rows(&[&["applied"]]));

    // A truncated 200 to a read is the real answer's first half; faults persist until cleared.
    let read = || {
        raw(
            "GET",
            "/v4/spreadsheets/sid/values/Sheet1".to_owned(),
            Value::Null,
        )
    };
    let whole = read().await.body;
    c.fake.inject(GoogleFault::Malformed {
        method: Method::ValuesGet,
        status: 200,
        body: MalformedBody::TruncatedJson,
        times: u32::MAX,
    });
    for _ in 0..2 {
        let reply = read().await;
        assert_eq!(reply.status, 200);
        assert!(serde_json::from_slice::<Value>(&reply.body).is_err());
        assert!(!reply.body.is_empty() && whole.starts_with(&reply.body));
    }
    c.fake.clear_faults();
    assert_eq!(read().await.body, whole);

    // A number typed by a person reads back as a number.
    c.fake
        .person_set_number("sid", "Sheet1", 1, 0, 2026110112345678.0);
    assert_eq!(
        c.fake.cell("sid", "Sheet1", 1, 0),
        Some(CellValue::Number(2026110112345678.0))
    );
    let reply = c
        .get("/v4/spreadsheets/sid/values/Sheet1!A2?valueRenderOption=UNFORMATTED_VALUE")
        .await;
    assert_eq!(reply.body["values"], json!([[2026110112345678_u64]]));

    let stats = c.fake.stats();
    assert_eq!(stats.faults_fired, 7);
    assert_eq!(stats.applied_writes, 1);
}
