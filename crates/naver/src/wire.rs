//! The JSON shapes NAVER sends (reference §1–§3), read leniently where NAVER is inconsistent:
//! `more` inside `data` (documented) or at the top level (seen in clients), `data` absent on an
//! empty page, error bodies with any subset of `code`/`message`/`traceId`/`invalidInputs`.

use ordersync_core::product_order::{ChangeStatus, ProductOrderDetail};
use serde::Deserialize;

/// `POST /v1/oauth2/token` answer.
#[derive(Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: i64,
}

/// Gateway and order-API error body, one struct for every shape (reference §3).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(default)]
    pub code: Option<serde_json::Value>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub trace_id: Option<String>,
    #[serde(default)]
    pub invalid_inputs: Option<Vec<InvalidInput>>,
}

#[derive(Debug, Deserialize)]
pub struct InvalidInput {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

impl ErrorBody {
    /// The code as text (`GW.RATE_LIMIT`, `104139`), numeric or string in the body.
    pub fn code(&self) -> Option<String> {
        match &self.code {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct More {
    #[serde(rename = "moreFrom")]
    pub more_from: String,
    #[serde(rename = "moreSequence")]
    pub more_sequence: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedData {
    #[serde(default)]
    pub last_change_statuses: Vec<ChangeStatus>,
    #[serde(default)]
    pub more: Option<More>,
}

/// `GET .../last-changed-statuses` answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedResponse {
    #[serde(default)]
    pub data: Option<FeedData>,
    /// Some clients read `more` here; accept it too.
    #[serde(default)]
    pub more: Option<More>,
    #[serde(default)]
    pub trace_id: Option<String>,
}

/// `POST .../product-orders/query` answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetailsResponse {
    #[serde(default)]
    pub data: Option<Vec<ProductOrderDetail>>,
    #[serde(default)]
    pub trace_id: Option<String>,
}

/// One element of the conditional search's `data.contents`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchContent {
    #[serde(default)]
    pub product_order_id: Option<String>,
    #[serde(default)]
    pub content: Option<ProductOrderDetail>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    #[serde(default)]
    pub has_next: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchData {
    #[serde(default)]
    pub contents: Vec<SearchContent>,
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

/// `GET /v1/pay-order/seller/product-orders` answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResponse {
    #[serde(default)]
    pub data: Option<SearchData>,
    #[serde(default)]
    pub trace_id: Option<String>,
}
