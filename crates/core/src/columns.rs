//! The sheet columns a request may choose: the fields transform knows how to fill, their default
//! Korean headers, the named presets, and the rules a custom choice must follow.
//!
//! This module only names and validates columns; filling them from a product order is the
//! transform crate's job.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The field every sheet is keyed by. Kept as text: NAVER ids exceed 2^53.
pub const KEY_FIELD: Field = Field::ProductOrderId;

/// Google Sheets' limit on one cell's text.
pub const MAX_CELL_CHARS: usize = 50_000;

/// Longest header text accepted in a custom column choice.
pub const MAX_HEADER_CHARS: usize = 100;

/// Most columns one request may choose (the product's field count; more would be duplicates).
pub const MAX_COLUMNS: usize = 64;

/// A value transform can put into a cell. Names are the request's `field` strings.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// productOrder.productOrderId (text).
    ProductOrderId,
    /// order.orderId (text).
    OrderId,
    /// order.orderDate (KST).
    OrderDate,
    /// order.paymentDate (KST).
    PaymentDate,
    /// productOrder.productOrderStatus, as a Korean label.
    ProductOrderStatus,
    /// productOrder.claimType, as a Korean label.
    ClaimType,
    /// productOrder.claimStatus, as a Korean label (NAVER's code for a value we do not know).
    ClaimStatus,
    /// productOrder.productId (text).
    ProductId,
    /// productOrder.productName.
    ProductName,
    /// productOrder.productOption.
    ProductOption,
    /// productOrder.sellerProductCode.
    SellerProductCode,
    /// productOrder.quantity: the quantity ordered, before any partial claim (number).
    Quantity,
    /// productOrder.remainQuantity: the quantity now, after partial cancels and returns
    /// (number; `quantity` when NAVER sends none).
    RemainQuantity,
    /// productOrder.unitPrice (KRW number).
    UnitPrice,
    /// productOrder.totalProductAmount (KRW number).
    TotalProductAmount,
    /// productOrder.totalPaymentAmount: what was paid, before any partial claim (KRW number).
    TotalPaymentAmount,
    /// productOrder.remainPaymentAmount: the payment now, after partial cancels and returns
    /// (KRW number; `totalPaymentAmount` when NAVER sends none).
    RemainPaymentAmount,
    /// productOrder.deliveryFeeAmount (KRW number).
    DeliveryFeeAmount,
    /// productOrder.expectedSettlementAmount (KRW number).
    ExpectedSettlementAmount,
    /// order.paymentMeans.
    PaymentMeans,
    /// order.ordererName (personal: name).
    OrdererName,
    /// order.ordererTel (personal: phone).
    OrdererTel,
    /// shippingAddress.name (personal: name).
    ReceiverName,
    /// shippingAddress.tel1 (personal: phone).
    ReceiverTel,
    /// shippingAddress.zipCode (personal: address).
    ZipCode,
    /// shippingAddress.baseAddress + detailedAddress (personal: address).
    ShippingAddress,
    /// productOrder.shippingMemo.
    ShippingMemo,
    /// delivery.deliveryCompany (NAVER's company code).
    DeliveryCompany,
    /// delivery.trackingNumber (text).
    TrackingNumber,
    /// delivery.sendDate (KST).
    SendDate,
    /// delivery.deliveredDate (KST).
    DeliveredDate,
    /// productOrder.decisionDate (KST).
    DecisionDate,
    /// The change feed's lastChangedDate (KST).
    LastChangedDate,
    /// The change feed's lastChangedType (NAVER code).
    LastChangedType,
}

/// What kind of personal data a field holds, for masking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MaskKind {
    /// Keep the first character: `홍길동` → `홍**`.
    Name,
    /// Hide the middle group: `010-1234-5678` → `010-****-5678`.
    Phone,
    /// Keep the first two words: `서울특별시 강남구 테헤란로 1 101호` → `서울특별시 강남구 ***`.
    Address,
}

impl Field {
    pub const ALL: [Field; 34] = [
        Field::ProductOrderId,
        Field::OrderId,
        Field::OrderDate,
        Field::PaymentDate,
        Field::ProductOrderStatus,
        Field::ClaimType,
        Field::ClaimStatus,
        Field::ProductId,
        Field::ProductName,
        Field::ProductOption,
        Field::SellerProductCode,
        Field::Quantity,
        Field::RemainQuantity,
        Field::UnitPrice,
        Field::TotalProductAmount,
        Field::TotalPaymentAmount,
        Field::RemainPaymentAmount,
        Field::DeliveryFeeAmount,
        Field::ExpectedSettlementAmount,
        Field::PaymentMeans,
        Field::OrdererName,
        Field::OrdererTel,
        Field::ReceiverName,
        Field::ReceiverTel,
        Field::ZipCode,
        Field::ShippingAddress,
        Field::ShippingMemo,
        Field::DeliveryCompany,
        Field::TrackingNumber,
        Field::SendDate,
        Field::DeliveredDate,
        Field::DecisionDate,
        Field::LastChangedDate,
        Field::LastChangedType,
    ];

    /// The header a seller sees when the request names no header of its own.
    pub const fn default_header(self) -> &'static str {
        match self {
            Field::ProductOrderId => "상품주문번호",
            Field::OrderId => "주문번호",
            Field::OrderDate => "주문일시",
            Field::PaymentDate => "결제일시",
            Field::ProductOrderStatus => "주문상태",
            Field::ClaimType => "클레임구분",
            Field::ClaimStatus => "클레임상태",
            Field::ProductId => "상품번호",
            Field::ProductName => "상품명",
            Field::ProductOption => "옵션",
            Field::SellerProductCode => "판매자상품코드",
            // The current values carry the familiar headers: an existing sheet's 수량 and
            // 총결제금액 columns show what the order is now, not what it was.
            Field::Quantity => "최초수량",
            Field::RemainQuantity => "수량",
            Field::UnitPrice => "상품가격",
            Field::TotalProductAmount => "상품금액",
            Field::TotalPaymentAmount => "최초결제금액",
            Field::RemainPaymentAmount => "총결제금액",
            Field::DeliveryFeeAmount => "배송비",
            Field::ExpectedSettlementAmount => "정산예정금액",
            Field::PaymentMeans => "결제수단",
            Field::OrdererName => "주문자명",
            Field::OrdererTel => "주문자연락처",
            Field::ReceiverName => "수취인명",
            Field::ReceiverTel => "연락처",
            Field::ZipCode => "우편번호",
            Field::ShippingAddress => "배송지",
            Field::ShippingMemo => "배송메모",
            Field::DeliveryCompany => "택배사",
            Field::TrackingNumber => "송장번호",
            Field::SendDate => "발송일시",
            Field::DeliveredDate => "배송완료일시",
            Field::DecisionDate => "구매확정일시",
            Field::LastChangedDate => "최종변경일시",
            Field::LastChangedType => "최종변경구분",
        }
    }

    /// The request's name for this field.
    pub const fn name(self) -> &'static str {
        // The same strings serde derives (snake_case); `names_round_trip` keeps them equal.
        FIELD_NAMES[self as usize]
    }

    /// Which personal-data class the field belongs to, if any.
    pub const fn personal(self) -> Option<MaskKind> {
        match self {
            Field::OrdererName | Field::ReceiverName => Some(MaskKind::Name),
            Field::OrdererTel | Field::ReceiverTel => Some(MaskKind::Phone),
            Field::ZipCode | Field::ShippingAddress => Some(MaskKind::Address),
            _ => None,
        }
    }
}

const FIELD_NAMES: [&str; 34] = [
    "product_order_id",
    "order_id",
    "order_date",
    "payment_date",
    "product_order_status",
    "claim_type",
    "claim_status",
    "product_id",
    "product_name",
    "product_option",
    "seller_product_code",
    "quantity",
    "remain_quantity",
    "unit_price",
    "total_product_amount",
    "total_payment_amount",
    "remain_payment_amount",
    "delivery_fee_amount",
    "expected_settlement_amount",
    "payment_means",
    "orderer_name",
    "orderer_tel",
    "receiver_name",
    "receiver_tel",
    "zip_code",
    "shipping_address",
    "shipping_memo",
    "delivery_company",
    "tracking_number",
    "send_date",
    "delivered_date",
    "decision_date",
    "last_changed_date",
    "last_changed_type",
];

/// Named column sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// The 18 columns a Smart Store seller's order sheet usually has.
    #[default]
    Standard,
    /// What a packing desk needs: items, receiver, address, courier.
    Shipping,
    /// Key, dates, status, item and amount: no personal data at all.
    Minimal,
}

impl Preset {
    pub fn fields(self) -> &'static [Field] {
        use Field::*;
        match self {
            Preset::Standard => &[
                ProductOrderId,
                OrderId,
                OrderDate,
                PaymentDate,
                ProductOrderStatus,
                ProductName,
                ProductOption,
                RemainQuantity,
                TotalProductAmount,
                RemainPaymentAmount,
                OrdererName,
                ReceiverName,
                ReceiverTel,
                ShippingAddress,
                ShippingMemo,
                DeliveryCompany,
                TrackingNumber,
                LastChangedDate,
            ],
            Preset::Shipping => &[
                ProductOrderId,
                OrderId,
                ProductOrderStatus,
                ProductName,
                ProductOption,
                RemainQuantity,
                ReceiverName,
                ReceiverTel,
                ZipCode,
                ShippingAddress,
                ShippingMemo,
                DeliveryCompany,
                TrackingNumber,
                LastChangedDate,
            ],
            Preset::Minimal => &[
                ProductOrderId,
                OrderDate,
                PaymentDate,
                ProductOrderStatus,
                ProductName,
                RemainQuantity,
                RemainPaymentAmount,
                LastChangedDate,
            ],
        }
    }
}

/// One custom column: the header text in the sheet and the field that fills it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnDef {
    /// Header text, matched against the sheet's header row. Defaults to the field's Korean header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    pub field: Field,
}

/// A request's column choice. With neither `preset` nor `list`, the `standard` preset is used.
/// With both, the preset's columns come first and `list` adds to them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnChoice {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<Vec<ColumnDef>>,
    /// Personal-data classes to mask in the sheet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mask: Vec<MaskKind>,
}

/// A resolved column: header plus field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub header: String,
    pub field: Field,
}

/// A column choice that breaks a rule. `at` is the request path of the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at} {problem}")]
pub struct ColumnError {
    pub at: String,
    pub problem: String,
}

impl ColumnChoice {
    /// The ordered columns this choice stands for. The key column is always present: when the
    /// choice leaves it out it is put first, because the sheet is upserted by it.
    pub fn resolve(&self) -> Result<Vec<Column>, ColumnError> {
        let mut columns: Vec<Column> = match (self.preset, &self.list) {
            (None, Some(_)) => Vec::new(),
            (preset, _) => preset
                .unwrap_or_default()
                .fields()
                .iter()
                .map(|&field| Column {
                    header: field.default_header().to_owned(),
                    field,
                })
                .collect(),
        };
        let preset_len = columns.len();
        for (i, def) in self.list.iter().flatten().enumerate() {
            let at = format!("columns.list[{i}]");
            let header = match &def.header {
                Some(h) => {
                    let trimmed = h.trim();
                    if trimmed.is_empty() {
                        return Err(ColumnError {
                            at: format!("{at}.header"),
                            problem: "is empty".into(),
                        });
                    }
                    if trimmed.chars().count() > MAX_HEADER_CHARS {
                        return Err(ColumnError {
                            at: format!("{at}.header"),
                            problem: format!("is longer than {MAX_HEADER_CHARS} characters"),
                        });
                    }
                    if trimmed.chars().any(char::is_control) {
                        return Err(ColumnError {
                            at: format!("{at}.header"),
                            problem: "contains a control character".into(),
                        });
                    }
                    trimmed.to_owned()
                }
                None => def.field.default_header().to_owned(),
            };
            if let Some(j) = columns.iter().position(|c| c.field == def.field) {
                if j >= preset_len {
                    return Err(ColumnError {
                        at: format!("{at}.field"),
                        problem: format!("`{}` is chosen twice", def.field.name()),
                    });
                }
                // A list entry for a preset field renames that column in place.
                columns[j].header = header;
            } else {
                columns.push(Column {
                    header,
                    field: def.field,
                });
            }
        }
        if !columns.iter().any(|c| c.field == KEY_FIELD) {
            columns.insert(
                0,
                Column {
                    header: KEY_FIELD.default_header().to_owned(),
                    field: KEY_FIELD,
                },
            );
        }
        let mut headers = std::collections::HashSet::new();
        for c in &columns {
            if !headers.insert(c.header.as_str()) {
                return Err(ColumnError {
                    at: "columns".into(),
                    problem: format!("has the header `{}` twice", c.header),
                });
            }
        }
        if columns.len() > MAX_COLUMNS {
            return Err(ColumnError {
                at: "columns".into(),
                problem: format!("chooses more than {MAX_COLUMNS} columns"),
            });
        }
        Ok(columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for field in Field::ALL {
            let json = serde_json::to_value(field).unwrap();
            assert_eq!(json, serde_json::Value::String(field.name().into()));
            assert_eq!(serde_json::from_value::<Field>(json).unwrap(), field);
        }
    }

    #[test]
    fn default_is_the_standard_preset_with_the_documented_headers() {
        let cols = ColumnChoice::default().resolve().unwrap();
        let headers: Vec<_> = cols.iter().map(|c| c.header.as_str()).collect();
        assert_eq!(
            headers,
            [
                "상품주문번호",
                "주문번호",
                "주문일시",
                "결제일시",
                "주문상태",
                "상품명",
                "옵션",
                "수량",
                "상품금액",
                "총결제금액",
                "주문자명",
                "수취인명",
                "연락처",
                "배송지",
                "배송메모",
                "택배사",
                "송장번호",
                "최종변경일시"
            ]
        );
    }

    #[test]
    fn a_list_alone_gets_the_key_put_first() {
        let choice: ColumnChoice = serde_json::from_str(
            r#"{"list":[{"field":"product_name"},{"header":"Qty","field":"quantity"}]}"#,
        )
        .unwrap();
        let cols = choice.resolve().unwrap();
        let got: Vec<_> = cols.iter().map(|c| (c.header.as_str(), c.field)).collect();
        assert_eq!(
            got,
            [
                ("상품주문번호", Field::ProductOrderId),
                ("상품명", Field::ProductName),
                ("Qty", Field::Quantity)
            ]
        );
    }

    #[test]
    fn preset_plus_list_renames_and_extends() {
        let choice: ColumnChoice = serde_json::from_str(
            r#"{"preset":"minimal","list":[{"header":"Order","field":"product_order_id"},{"field":"zip_code"}]}"#,
        )
        .unwrap();
        let cols = choice.resolve().unwrap();
        assert_eq!(cols[0].header, "Order");
        assert_eq!(cols.last().unwrap().field, Field::ZipCode);
        assert_eq!(cols.len(), Preset::Minimal.fields().len() + 1);
    }

    #[test]
    fn rejects_duplicates_and_empty_headers() {
        let dup: ColumnChoice =
            serde_json::from_str(r#"{"list":[{"field":"quantity"},{"field":"quantity"}]}"#)
                .unwrap();
        assert_eq!(
            dup.resolve().unwrap_err().to_string(),
            "columns.list[1].field `quantity` is chosen twice"
        );
        let same_header: ColumnChoice = serde_json::from_str(
            r#"{"list":[{"header":"X","field":"quantity"},{"header":"X","field":"order_id"}]}"#,
        )
        .unwrap();
        assert_eq!(
            same_header.resolve().unwrap_err().to_string(),
            "columns has the header `X` twice"
        );
        let empty: ColumnChoice =
            serde_json::from_str(r#"{"list":[{"header":"  ","field":"quantity"}]}"#).unwrap();
        assert_eq!(
            empty.resolve().unwrap_err().to_string(),
            "columns.list[0].header is empty"
        );
    }

    #[test]
    fn unknown_field_is_rejected_by_name() {
        let err = serde_json::from_str::<ColumnChoice>(r#"{"list":[{"field":"buyer_iq"}]}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown variant `buyer_iq`"), "{err}");
    }
}
