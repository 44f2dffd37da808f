//! The NAVER Commerce API product-order model (reference §2a, §2b), as serde types.
//!
//! Every field is optional (NAVER omits blocks freely), amounts are integer KRW, timestamps keep
//! whatever offset NAVER sent, and every enum has an `Unknown(String)` fallback so a status NAVER
//! adds tomorrow flows through instead of failing a run. Fields we do not model are dropped when
//! an order is stored; the payload keeps what the sheet can show.
//!
//! This module has no HTTP client; the `ordersync-naver` crate is the client that fills it.
//! (It was `core::naver`, a name it shared with that crate.)

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::payload::PayloadSchema;
use crate::window::Window;

/// Defines a string enum with a Korean label and an `Unknown(String)` fallback.
macro_rules! naver_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $code:literal / $label:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)*
            /// A value this version does not know; kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// NAVER's code for the value.
            pub fn code(&self) -> &str {
                match self {
                    $($name::$variant => $code,)*
                    $name::Unknown(code) => code,
                }
            }

            /// What a seller calls it; the code itself for unknown values.
            pub fn label(&self) -> &str {
                match self {
                    $($name::$variant => $label,)*
                    $name::Unknown(code) => code,
                }
            }

            pub fn from_code(code: &str) -> Self {
                match code {
                    $($code => $name::$variant,)*
                    other => $name::Unknown(other.to_owned()),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let code = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Ok($name::from_code(&code))
            }
        }
    };
}

naver_enum!(
    /// `productOrderStatus`.
    ProductOrderStatus {
        PaymentWaiting = "PAYMENT_WAITING" / "결제대기",
        Payed = "PAYED" / "결제완료",
        Delivering = "DELIVERING" / "배송중",
        Delivered = "DELIVERED" / "배송완료",
        PurchaseDecided = "PURCHASE_DECIDED" / "구매확정",
        Exchanged = "EXCHANGED" / "교환",
        Canceled = "CANCELED" / "취소",
        Returned = "RETURNED" / "반품",
        CanceledByNoPayment = "CANCELED_BY_NOPAYMENT" / "미결제취소",
    }
);

naver_enum!(
    /// `claimType`.
    ClaimType {
        Cancel = "CANCEL" / "취소",
        Return = "RETURN" / "반품",
        Exchange = "EXCHANGE" / "교환",
        PurchaseDecisionHoldback = "PURCHASE_DECISION_HOLDBACK" / "구매확정보류",
        AdminCancel = "ADMIN_CANCEL" / "직권취소",
    }
);

naver_enum!(
    /// `lastChangedType` of the change feed (note `PAY_WAITING`, not `PAYMENT_WAITING`).
    LastChangedType {
        PayWaiting = "PAY_WAITING" / "결제대기",
        Payed = "PAYED" / "결제완료",
        ExchangeOption = "EXCHANGE_OPTION" / "옵션변경",
        DeliveryAddressChanged = "DELIVERY_ADDRESS_CHANGED" / "배송지변경",
        GiftReceived = "GIFT_RECEIVED" / "선물수락",
        // NAVER's docs call it 클레임 철회 (the customer withdrew the claim), not a refusal.
        ClaimRejected = "CLAIM_REJECTED" / "클레임철회",
        Dispatched = "DISPATCHED" / "발송처리",
        ClaimRequested = "CLAIM_REQUESTED" / "클레임요청",
        CollectDone = "COLLECT_DONE" / "수거완료",
        ClaimCompleted = "CLAIM_COMPLETED" / "클레임완료",
        PurchaseDecided = "PURCHASE_DECIDED" / "구매확정",
        HopeDeliveryInfoChanged = "HOPE_DELIVERY_INFO_CHANGED" / "배송희망일변경",
        ClaimRedelivering = "CLAIM_REDELIVERING" / "재배송",
        ClaimHoldbackReleased = "CLAIM_HOLDBACK_RELEASED" / "클레임보류해제",
    }
);

naver_enum!(
    /// `claimStatus`: NAVER's 19 values, labelled as the seller center shows them.
    ClaimStatus {
        CancelRequest = "CANCEL_REQUEST" / "취소요청",
        Canceling = "CANCELING" / "취소처리중",
        CancelDone = "CANCEL_DONE" / "취소완료",
        CancelReject = "CANCEL_REJECT" / "취소철회",
        ReturnRequest = "RETURN_REQUEST" / "반품요청",
        ExchangeRequest = "EXCHANGE_REQUEST" / "교환요청",
        Collecting = "COLLECTING" / "수거처리중",
        CollectDone = "COLLECT_DONE" / "수거완료",
        ExchangeRedelivering = "EXCHANGE_REDELIVERING" / "교환재배송중",
        ReturnDone = "RETURN_DONE" / "반품완료",
        ExchangeDone = "EXCHANGE_DONE" / "교환완료",
        ReturnReject = "RETURN_REJECT" / "반품철회",
        ExchangeReject = "EXCHANGE_REJECT" / "교환철회",
        PurchaseDecisionHoldback = "PURCHASE_DECISION_HOLDBACK" / "구매확정보류",
        PurchaseDecisionRequest = "PURCHASE_DECISION_REQUEST" / "구매확정요청",
        PurchaseDecisionHoldbackRelease = "PURCHASE_DECISION_HOLDBACK_RELEASE" / "구매확정보류해제",
        AdminCanceling = "ADMIN_CANCELING" / "직권취소중",
        AdminCancelDone = "ADMIN_CANCEL_DONE" / "직권취소완료",
        AdminCancelReject = "ADMIN_CANCEL_REJECT" / "직권취소철회",
    }
);

naver_enum!(
    /// `placeOrderStatus` (발주 상태).
    PlaceOrderStatus {
        NotYet = "NOT_YET" / "발주전",
        Ok = "OK" / "발주확인",
        // 발주 확인 해제: the seller took back an order confirmation.
        Cancel = "CANCEL" / "발주확인해제",
    }
);

/// A NAVER timestamp: ISO-8601 with any offset (`+09:00` usually, `Z` sometimes).
pub type Timestamp = DateTime<FixedOffset>;

/// `order` block of a product-order detail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_date: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_date: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_due_date: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_means: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orderer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orderer_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orderer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orderer_tel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_location_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub general_payment_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub naver_mileage_payment_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_amount_payment_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_later_payment_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_discount_amount: Option<i64>,
}

/// `shippingAddress` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingAddress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detailed_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tel1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tel2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_road_name_address: Option<bool>,
}

/// `hopeDelivery` block (its dates are `yyyymmdd` / `HHmm` strings, not ISO).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HopeDelivery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hope_delivery_ymd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hope_delivery_hm: Option<String>,
}

/// `productOrder` block (the fields the sheet can show, of about 90).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductOrder {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_order_status: Option<ProductOrderStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_type: Option<ClaimType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_status: Option<ClaimStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_order_status: Option<PlaceOrderStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_product_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_product_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_channel_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_option: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_manage_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_product_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_quantity: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remain_quantity: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_price: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_product_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_payment_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_payment_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remain_payment_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_discount_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_settlement_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_fee_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<ShippingAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_memo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_due_date: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_delivery_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_delivery_company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_date: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_order_date: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hope_delivery: Option<HopeDelivery>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_type: Option<String>,
}

/// `delivery` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_date: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_date: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_date: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_wrong_tracking_number: Option<bool>,
}

/// One element of `data` from `POST /v1/pay-order/seller/product-orders/query`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductOrderDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Order>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_order: Option<ProductOrder>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
}

/// One element of `data.lastChangeStatuses` (no "d") from the change feed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_changed_type: Option<LastChangedType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_changed_date: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_date: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_order_status: Option<ProductOrderStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_type: Option<ClaimType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_status: Option<ClaimStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver_address_changed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_receiving_status: Option<String>,
}

/// A record of the orders object: one product order as import fetched it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportedOrder {
    /// The key; equal to `detail.productOrder.productOrderId` when NAVER sends it.
    pub product_order_id: String,
    /// The change-feed entry that made import fetch this order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<ChangeStatus>,
    /// The detail object.
    #[serde(default)]
    pub detail: ProductOrderDetail,
    /// Re-read by id by a sync (an open order), not listed by the feed in this window.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rechecked: bool,
}

/// Header metadata of an orders object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrdersMeta {
    pub window: Window,
}

/// Schema `ordersync.orders` v1: [`ImportedOrder`] records.
pub struct OrdersSchema;

impl PayloadSchema for OrdersSchema {
    const NAME: &'static str = "ordersync.orders";
    const VERSION: u32 = 1;
    type Record = ImportedOrder;
    type Meta = OrdersMeta;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_statuses_have_korean_labels_and_unknown_codes_pass_through() {
        let all = [
            "CANCEL_REQUEST",
            "CANCELING",
            "CANCEL_DONE",
            "CANCEL_REJECT",
            "RETURN_REQUEST",
            "EXCHANGE_REQUEST",
            "COLLECTING",
            "COLLECT_DONE",
            "EXCHANGE_REDELIVERING",
            "RETURN_DONE",
            "EXCHANGE_DONE",
            "RETURN_REJECT",
            "EXCHANGE_REJECT",
            "PURCHASE_DECISION_HOLDBACK",
            "PURCHASE_DECISION_REQUEST",
            "PURCHASE_DECISION_HOLDBACK_RELEASE",
            "ADMIN_CANCELING",
            "ADMIN_CANCEL_DONE",
            "ADMIN_CANCEL_REJECT",
        ];
        let mut labels = std::collections::HashSet::new();
        for code in all {
            let status = ClaimStatus::from_code(code);
            assert_eq!(status.code(), code);
            assert!(!status.label().is_ascii(), "{code} has a Korean label");
            assert!(
                labels.insert(status.label().to_owned()),
                "{code}: label used twice"
            );
        }
        assert_eq!(labels.len(), 19);
        let new = ClaimStatus::from_code("SOMETHING_NEW");
        assert_eq!(
            (new.code(), new.label()),
            ("SOMETHING_NEW", "SOMETHING_NEW")
        );
        let json: ClaimStatus = serde_json::from_str(r#""RETURN_REJECT""#).unwrap();
        assert_eq!(serde_json::to_string(&json).unwrap(), r#""RETURN_REJECT""#);
    }

    #[test]
    fn change_kinds_and_place_order_labels_follow_naver() {
        assert_eq!(
            LastChangedType::from_code("CLAIM_HOLDBACK_RELEASED").label(),
            "클레임보류해제"
        );
        assert_eq!(
            LastChangedType::from_code("CLAIM_REJECTED").label(),
            "클레임철회"
        );
        assert_eq!(
            PlaceOrderStatus::from_code("CANCEL").label(),
            "발주확인해제"
        );
    }

    /// A detail object shaped like the reference's §2b example, with Korean text and emoji.
    const DETAIL: &str = r#"{
      "order": {"orderId": "2026112512345601", "orderDate": "2026-11-25T09:12:33.000+09:00",
                "paymentDate": "2026-11-25T09:13:01.5+09:00", "paymentMeans": "신용카드",
                "ordererId": "buyer***", "ordererName": "김민지", "ordererTel": "010-2345-6789",
                "generalPaymentAmount": 31000, "payLocationType": "MOBILE"},
      "productOrder": {"productOrderId": "2026112598765432101", "productOrderStatus": "PAYED",
                "placeOrderStatus": "NOT_YET", "productId": "8812345678", "groupProductId": 77,
                "productName": "무선 이어폰 🎧 (화이트)", "productOption": "색상: 화이트 / 케이스: 실리콘",
                "quantity": 2, "unitPrice": 15000, "totalProductAmount": 30000,
                "totalPaymentAmount": 31000, "deliveryFeeAmount": 3000,
                "expectedSettlementAmount": 28000, "shippingMemo": "문 앞에 놓아주세요 🙏",
                "shippingAddress": {"name": "이수진", "baseAddress": "서울특별시 강남구 테헤란로 152",
                                    "detailedAddress": "12층 1203호", "zipCode": "06236",
                                    "tel1": "010-9876-5432", "isRoadNameAddress": true},
                "hopeDelivery": {"hopeDeliveryYmd": "20261127", "hopeDeliveryHm": "1400"},
                "someFieldNaverAddsLater": {"x": 1}},
      "delivery": {"deliveryCompany": "CJGLS", "trackingNumber": "0001234567890",
                   "sendDate": "2026-11-25T18:00:00Z"},
      "currentClaim": null
    }"#;

    #[test]
    fn realistic_detail_round_trips() {
        let detail: ProductOrderDetail = serde_json::from_str(DETAIL).unwrap();
        let po = detail.product_order.as_ref().unwrap();
        assert_eq!(po.product_order_status, Some(ProductOrderStatus::Payed));
        assert_eq!(po.product_name.as_deref(), Some("무선 이어폰 🎧 (화이트)"));
        assert_eq!(po.total_payment_amount, Some(31000));
        let send = detail.delivery.as_ref().unwrap().send_date.unwrap();
        assert_eq!(send.to_rfc3339(), "2026-11-25T18:00:00+00:00");
        let again: ProductOrderDetail =
            serde_json::from_str(&serde_json::to_string(&detail).unwrap()).unwrap();
        assert_eq!(again, detail);
    }

    #[test]
    fn missing_blocks_and_fields_are_fine() {
        let detail: ProductOrderDetail = serde_json::from_str("{}").unwrap();
        assert_eq!(detail, ProductOrderDetail::default());
        let detail: ProductOrderDetail =
            serde_json::from_str(r#"{"productOrder": {"productOrderId": "1"}}"#).unwrap();
        assert!(detail.order.is_none());
        assert_eq!(
            serde_json::to_string(&detail).unwrap(),
            r#"{"productOrder":{"productOrderId":"1"}}"#
        );
    }

    #[test]
    fn new_enum_values_are_kept_not_fatal() {
        let po: ProductOrder =
            serde_json::from_str(r#"{"productOrderStatus": "TELEPORTED", "claimType": "CANCEL"}"#)
                .unwrap();
        assert_eq!(
            po.product_order_status,
            Some(ProductOrderStatus::Unknown("TELEPORTED".into()))
        );
        assert_eq!(
            po.product_order_status.as_ref().unwrap().label(),
            "TELEPORTED"
        );
        assert_eq!(po.claim_type.as_ref().unwrap().label(), "취소");
        assert_eq!(
            serde_json::to_string(&po).unwrap(),
            r#"{"productOrderStatus":"TELEPORTED","claimType":"CANCEL"}"#
        );
    }

    #[test]
    fn change_feed_uses_pay_waiting() {
        let c: ChangeStatus = serde_json::from_str(
            r#"{"productOrderId":"1","lastChangedType":"PAY_WAITING","lastChangedDate":"2022-05-11T22:05:27.000+09:00"}"#,
        )
        .unwrap();
        assert_eq!(c.last_changed_type, Some(LastChangedType::PayWaiting));
    }

    #[test]
    fn wrong_types_are_errors_not_guesses() {
        assert!(serde_json::from_str::<ProductOrder>(r#"{"quantity": "two"}"#).is_err());
        assert!(serde_json::from_str::<ProductOrder>(r#"{"decisionDate": "yesterday"}"#).is_err());
    }
}
