//! One product order → one sheet row, for the chosen columns.
//!
//! Dates are KST `YYYY-MM-DD HH:MM:SS`; money and quantities are numbers; statuses and claim
//! types are Korean labels (unknown codes pass through verbatim); ids, tracking numbers and codes
//! are text. A missing value is an empty string, never null. Text longer than a cell can hold is
//! cut with a visible marker. The change-feed columns of an order read without its feed record
//! (the conditional search) are [`Cell::Keep`]: not known, so not written.

use ordersync_core::columns::{Column, Field, MAX_CELL_CHARS, MaskKind};
use ordersync_core::cursor::{FeedChange, needs_recheck};
use ordersync_core::product_order::{ImportedOrder, Timestamp};
use ordersync_core::rows::{Cell, RowSync, SheetRow};
use ordersync_core::time::format_sheet;

use crate::mask;

/// Appended to text cut at the cell limit, so a reader sees it was cut.
pub const TRUNCATION_MARKER: &str = "…[truncated]";

fn text(value: Option<&str>) -> String {
    value.unwrap_or_default().to_owned()
}

fn date(value: Option<&Timestamp>) -> String {
    value.map(format_sheet).unwrap_or_default()
}

fn number(value: Option<i64>) -> Cell {
    value.map(Cell::Number).unwrap_or_else(Cell::empty)
}

/// Cuts `value` to the cell limit, ending with [`TRUNCATION_MARKER`].
pub fn fit_cell(value: String) -> String {
    // Fast path: a string of at most MAX_CELL_CHARS bytes has at most that many characters.
    if value.len() <= MAX_CELL_CHARS || value.chars().count() <= MAX_CELL_CHARS {
        return value;
    }
    let keep = MAX_CELL_CHARS - TRUNCATION_MARKER.chars().count();
    let mut out: String = value.chars().take(keep).collect();
    out.push_str(TRUNCATION_MARKER);
    out
}

/// The value of `field` for `order`, before masking and fitting.
pub fn cell(order: &ImportedOrder, field: Field) -> Cell {
    let detail = &order.detail;
    let o = detail.order.as_ref();
    let po = detail.product_order.as_ref();
    let addr = po.and_then(|p| p.shipping_address.as_ref());
    let delivery = detail.delivery.as_ref();
    let change = order.change.as_ref();
    let t = |s: String| Cell::Text(s);
    match field {
        Field::ProductOrderId => t(order.product_order_id.clone()),
        Field::OrderId => t(text(o.and_then(|o| o.order_id.as_deref()))),
        Field::OrderDate => t(date(o.and_then(|o| o.order_date.as_ref()))),
        Field::PaymentDate => t(date(o.and_then(|o| o.payment_date.as_ref()))),
        Field::ProductOrderStatus => t(text(
            po.and_then(|p| p.product_order_status.as_ref())
                .map(|s| s.label()),
        )),
        Field::ClaimType => t(text(
            po.and_then(|p| p.claim_type.as_ref()).map(|c| c.label()),
        )),
        Field::ClaimStatus => t(text(
            po.and_then(|p| p.claim_status.as_ref()).map(|c| c.label()),
        )),
        Field::ProductId => t(text(po.and_then(|p| p.product_id.as_deref()))),
        Field::ProductName => t(text(po.and_then(|p| p.product_name.as_deref()))),
        Field::ProductOption => t(text(po.and_then(|p| p.product_option.as_deref()))),
        Field::SellerProductCode => t(text(po.and_then(|p| p.seller_product_code.as_deref()))),
        Field::Quantity => number(po.and_then(|p| p.quantity)),
        Field::RemainQuantity => number(po.and_then(|p| p.remain_quantity.or(p.quantity))),
        Field::UnitPrice => number(po.and_then(|p| p.unit_price)),
        Field::TotalProductAmount => number(po.and_then(|p| p.total_product_amount)),
        Field::TotalPaymentAmount => number(po.and_then(|p| p.total_payment_amount)),
        Field::RemainPaymentAmount => {
            number(po.and_then(|p| p.remain_payment_amount.or(p.total_payment_amount)))
        }
        Field::DeliveryFeeAmount => number(po.and_then(|p| p.delivery_fee_amount)),
        Field::ExpectedSettlementAmount => number(po.and_then(|p| p.expected_settlement_amount)),
        Field::PaymentMeans => t(text(o.and_then(|o| o.payment_means.as_deref()))),
        Field::OrdererName => t(text(o.and_then(|o| o.orderer_name.as_deref()))),
        Field::OrdererTel => t(text(o.and_then(|o| o.orderer_tel.as_deref()))),
        Field::ReceiverName => t(text(addr.and_then(|a| a.name.as_deref()))),
        Field::ReceiverTel => t(text(addr.and_then(|a| a.tel1.as_deref()))),
        Field::ZipCode => t(text(addr.and_then(|a| a.zip_code.as_deref()))),
        Field::ShippingAddress => {
            let base = addr
                .and_then(|a| a.base_address.as_deref())
                .unwrap_or_default();
            let detailed = addr
                .and_then(|a| a.detailed_address.as_deref())
                .unwrap_or_default();
            t(format!("{} {}", base.trim(), detailed.trim())
                .trim()
                .to_owned())
        }
        Field::ShippingMemo => t(text(po.and_then(|p| p.shipping_memo.as_deref()))),
        Field::DeliveryCompany => t(text(delivery.and_then(|d| d.delivery_company.as_deref()))),
        Field::TrackingNumber => t(text(delivery.and_then(|d| d.tracking_number.as_deref()))),
        Field::SendDate => t(date(delivery.and_then(|d| d.send_date.as_ref()))),
        Field::DeliveredDate => t(date(delivery.and_then(|d| d.delivered_date.as_ref()))),
        Field::DecisionDate => t(date(po.and_then(|p| p.decision_date.as_ref()))),
        // A conditional-search row (a range by payment or order date) has no feed record: it
        // does not know these two, so the sheet keeps what a sync wrote.
        Field::LastChangedDate | Field::LastChangedType if change.is_none() => Cell::keep(),
        Field::LastChangedDate => t(date(change.and_then(|c| c.last_changed_date.as_ref()))),
        Field::LastChangedType => t(text(
            change
                .and_then(|c| c.last_changed_type.as_ref())
                .map(|c| c.code()),
        )),
    }
}

/// The row for `order`: one cell per column, masked and fitted.
pub fn row(order: &ImportedOrder, columns: &[Column], masks: &[MaskKind]) -> SheetRow {
    let cells = columns
        .iter()
        .map(|c| match cell(order, c.field) {
            Cell::Text(s) => Cell::Text(fit_cell(mask::apply(c.field, s, masks))),
            number => number,
        })
        .collect();
    SheetRow {
        key: order.product_order_id.clone(),
        cells,
        sync: Some(row_sync(order)),
    }
}

/// What a sync's cursor keeps of `order`: whether it is open, whether it was re-read, and its
/// feed record.
fn row_sync(order: &ImportedOrder) -> RowSync {
    let po = order.detail.product_order.as_ref();
    let change = order.change.as_ref();
    RowSync {
        open: needs_recheck(
            po.and_then(|p| p.product_order_status.as_ref())
                .or(change.and_then(|c| c.product_order_status.as_ref())),
            po.and_then(|p| p.claim_status.as_ref()),
        ),
        rechecked: order.rechecked,
        changed: change.and_then(|c| {
            Some(FeedChange {
                date: c.last_changed_date?,
                kind: c.last_changed_type.clone(),
            })
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ordersync_core::columns::ColumnChoice;

    fn order() -> ImportedOrder {
        serde_json::from_str(
            r#"{"productOrderId": "2026112598765432101",
                "change": {"lastChangedType": "DISPATCHED", "lastChangedDate": "2026-11-25T09:30:00.000Z"},
                "detail": {
                  "order": {"orderId": "2026112512345601", "orderDate": "2026-11-25T09:12:33.000+09:00",
                            "ordererName": "김민지"},
                  "productOrder": {"productOrderId": "2026112598765432101", "productOrderStatus": "DELIVERING",
                            "productName": "=SUM(A1:A9)", "quantity": 2, "totalPaymentAmount": 31000,
                            "shippingAddress": {"name": "이수진", "baseAddress": "서울특별시 강남구 테헤란로 152",
                                                "detailedAddress": "12층", "tel1": "010-9876-5432"}},
                  "delivery": {"deliveryCompany": "CJGLS", "trackingNumber": "0001234567890"}}}"#,
        )
        .unwrap()
    }

    #[test]
    fn standard_columns_are_filled_as_documented() {
        let columns = ColumnChoice::default().resolve().unwrap();
        let row = row(&order(), &columns, &[]);
        let by_header = |h: &str| {
            let i = columns.iter().position(|c| c.header == h).unwrap();
            row.cells[i].clone()
        };
        let text = |s: &str| Cell::Text(s.into());
        assert_eq!(by_header("상품주문번호"), text("2026112598765432101"));
        assert_eq!(by_header("주문일시"), text("2026-11-25 09:12:33"));
        assert_eq!(by_header("결제일시"), text(""));
        assert_eq!(by_header("주문상태"), text("배송중"));
        assert_eq!(by_header("상품명"), text("=SUM(A1:A9)"));
        assert_eq!(by_header("수량"), Cell::Number(2));
        assert_eq!(by_header("상품금액"), text(""));
        assert_eq!(by_header("총결제금액"), Cell::Number(31000));
        assert_eq!(
            by_header("배송지"),
            text("서울특별시 강남구 테헤란로 152 12층")
        );
        assert_eq!(by_header("송장번호"), text("0001234567890"));
        assert_eq!(by_header("최종변경일시"), text("2026-11-25 18:30:00"));
        assert_eq!(row.cells.len(), columns.len());
    }

    #[test]
    fn after_a_partial_cancel_the_standard_columns_show_the_order_as_it_is_now() {
        // Two of three items canceled: NAVER keeps quantity/totalPaymentAmount at the initial
        // values and reports what is left in remainQuantity/remainPaymentAmount.
        let order: ImportedOrder = serde_json::from_str(
            r#"{"productOrderId": "2026112598765432102",
                "detail": {"productOrder": {"productOrderId": "2026112598765432102",
                  "productOrderStatus": "PAYED", "claimType": "CANCEL", "claimStatus": "CANCEL_DONE",
                  "placeOrderStatus": "CANCEL",
                  "quantity": 3, "initialQuantity": 3, "remainQuantity": 1,
                  "totalPaymentAmount": 30000, "initialPaymentAmount": 30000, "remainPaymentAmount": 10000}}}"#,
        )
        .unwrap();
        let standard = ColumnChoice::default().resolve().unwrap();
        let cells = row(&order, &standard, &[]).cells;
        let at = |h: &str| cells[standard.iter().position(|c| c.header == h).unwrap()].clone();
        assert_eq!(at("수량"), Cell::Number(1));
        assert_eq!(at("총결제금액"), Cell::Number(10000));

        let choice: ColumnChoice = serde_json::from_str(
            r#"{"list":[{"field":"quantity"},{"field":"total_payment_amount"},{"field":"claim_status"},{"field":"claim_type"}]}"#,
        )
        .unwrap();
        let columns = choice.resolve().unwrap();
        // The key column comes first whatever the list says.
        let headers: Vec<&str> = columns.iter().map(|c| c.header.as_str()).collect();
        assert_eq!(
            headers,
            [
                "상품주문번호",
                "최초수량",
                "최초결제금액",
                "클레임상태",
                "클레임구분"
            ]
        );
        assert_eq!(
            row(&order, &columns, &[]).cells[1..],
            [
                Cell::Number(3),
                Cell::Number(30000),
                Cell::Text("취소완료".into()),
                Cell::Text("취소".into())
            ]
        );
    }

    #[test]
    fn an_order_without_its_feed_record_keeps_the_sheets_change_columns() {
        // The conditional search (a range by payment date) returns no feed record: the two
        // change-feed columns are not known, so they are kept, not blanked.
        let mut searched = order();
        searched.change = None;
        let choice: ColumnChoice = serde_json::from_str(
            r#"{"list":[{"field":"product_order_status"},{"field":"last_changed_date"},{"field":"last_changed_type"}]}"#,
        )
        .unwrap();
        let columns = choice.resolve().unwrap();
        let cells = row(&searched, &columns, &[]).cells;
        let at = |h: &str| cells[columns.iter().position(|c| c.header == h).unwrap()].clone();
        assert_eq!(at("최종변경일시"), Cell::keep());
        assert_eq!(at("최종변경구분"), Cell::keep());
        assert_eq!(at("주문상태"), Cell::Text("배송중".into()));
        let kept = cells.iter().filter(|c| c.is_keep()).count();
        assert_eq!(kept, 2, "only the feed's columns");
        // With the record, they are its values.
        let fed = row(&order(), &columns, &[]).cells;
        assert!(fed.iter().all(|c| !c.is_keep()));
    }

    #[test]
    fn without_remain_values_the_current_columns_fall_back_to_the_initial_ones() {
        // order() has quantity 2 and totalPaymentAmount 31000 and no remain* fields (an
        // answer without quantityClaimCompatibility, or an older payload).
        let columns = ColumnChoice::default().resolve().unwrap();
        let cells = row(&order(), &columns, &[]).cells;
        let at = |h: &str| cells[columns.iter().position(|c| c.header == h).unwrap()].clone();
        assert_eq!(at("수량"), Cell::Number(2));
        assert_eq!(at("총결제금액"), Cell::Number(31000));
    }

    #[test]
    fn masking_applies_to_chosen_kinds_only() {
        let choice: ColumnChoice = serde_json::from_str(
            r#"{"list":[{"field":"orderer_name"},{"field":"receiver_tel"},{"field":"shipping_address"}],"mask":["name","address"]}"#,
        )
        .unwrap();
        let columns = choice.resolve().unwrap();
        let row = row(&order(), &columns, &choice.mask);
        assert_eq!(
            row.cells[1..],
            [
                Cell::Text("김**".into()),
                Cell::Text("010-9876-5432".into()),
                Cell::Text("서울특별시 강남구 ***".into())
            ]
        );
    }

    #[test]
    fn long_text_is_cut_with_a_marker() {
        let long = "가".repeat(MAX_CELL_CHARS + 10);
        let cut = fit_cell(long);
        assert_eq!(cut.chars().count(), MAX_CELL_CHARS);
        assert!(cut.ends_with(TRUNCATION_MARKER));
        let exact = "a".repeat(MAX_CELL_CHARS);
        assert_eq!(fit_cell(exact.clone()), exact);
    }
}
