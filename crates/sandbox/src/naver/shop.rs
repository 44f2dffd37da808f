//! The fake store's data: orders, their product orders, every change event and the current
//! detail of each product order, generated deterministically from a seed.
//!
//! Shapes follow reference §2a/§2b: 16-digit `orderId`s and 19-digit `productOrderId`s (as
//! strings, prefixed with the payment day like NAVER's), integer KRW amounts, timestamps as
//! `yyyy-MM-ddTHH:mm:ss.SSS+09:00`. Each product order gets 1–4 change events inside
//! `[from, to)`, strictly increasing per product order, and its detail reflects the latest one.
//! Ties across product orders are deliberate: all product orders of one order are paid at the
//! same instant, and most dispatches happen in bulk "dispatch runs" at 14:00:00.000 and
//! 17:30:00.000 KST, so paging must cope with many rows at one timestamp.
//!
//! Deliberately awkward content, so consumers prove they cope: product names and memos starting
//! with `=`, `+`, `@`, `-`, emoji (including ZWJ sequences), embedded newlines and tabs; one
//! 60,000-character `shippingMemo`; some details without `delivery` or `shippingAddress`; one
//! product order whose status is `DISPOSED_BY_ROBOTS`, a value no client knows; extra fields
//! our model does not declare.
//!
//! **The change feed is a snapshot, as NAVER's is** (reference §2e): each product order has one
//! feed record, its latest listed change, overwritten by the next one; `lastChangedFrom/To`
//! filter on that one date ([`Shop::records`]). The full history stays available for tests
//! ([`Shop::events`]) but is never served. Some changes touch only the detail that `/query`
//! returns, never the feed record: a delivery completion ([`Shop::deliver`]).
//!
//! This is not a model of NAVER's state machine: claims are simplified to a few realistic
//! paths. After generation the shop changes only through [`Shop::advance`],
//! [`Shop::deliver`], [`Shop::cancel_one`] and [`Shop::add_orders`].

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveTime, TimeDelta};
use serde_json::{Map, Value, json};

use crate::orders::Rng;

/// Korea Standard Time; NAVER answers in `+09:00` (Korea has no daylight saving time).
pub fn kst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("+09:00 is a valid offset")
}

/// Formats as NAVER does: `yyyy-MM-ddTHH:mm:ss.SSS+09:00`, always with milliseconds.
pub fn naver_time(t: DateTime<FixedOffset>) -> String {
    t.with_timezone(&kst())
        .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
        .to_string()
}

/// The least time between dispatch and delivery completion in [`Shop::deliver`].
pub const COURIER_TIME: TimeDelta = TimeDelta::hours(12);

/// A `productOrderStatus` no client knows, to prove unknown values flow through.
pub const UNKNOWN_STATUS: &str = "DISPOSED_BY_ROBOTS";

/// Length in characters of the one huge `shippingMemo`.
pub const HUGE_MEMO_CHARS: usize = 60_000;

/// One row of the change feed (`data.lastChangeStatuses[]`), as of the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEvent {
    pub order_id: String,
    pub product_order_id: String,
    pub last_changed_date: DateTime<FixedOffset>,
    pub last_changed_type: &'static str,
    /// Absent until the order is paid (`PAY_WAITING` rows).
    pub payment_date: Option<DateTime<FixedOffset>>,
    pub product_order_status: &'static str,
    pub claim_type: Option<&'static str>,
    pub claim_status: Option<&'static str>,
    pub receiver_address_changed: bool,
    pub gift_receiving_status: Option<&'static str>,
}

impl ChangeEvent {
    /// The feed row as NAVER sends it (optional fields left out when empty).
    pub fn to_json(&self) -> Value {
        let mut row = Map::new();
        row.insert("orderId".into(), json!(self.order_id));
        row.insert("productOrderId".into(), json!(self.product_order_id));
        row.insert("lastChangedType".into(), json!(self.last_changed_type));
        row.insert(
            "lastChangedDate".into(),
            json!(naver_time(self.last_changed_date)),
        );
        if let Some(paid) = self.payment_date {
            row.insert("paymentDate".into(), json!(naver_time(paid)));
        }
        row.insert(
            "productOrderStatus".into(),
            json!(self.product_order_status),
        );
        if let Some(claim_type) = self.claim_type {
            row.insert("claimType".into(), json!(claim_type));
        }
        if let Some(claim_status) = self.claim_status {
            row.insert("claimStatus".into(), json!(claim_status));
        }
        row.insert(
            "receiverAddressChanged".into(),
            json!(self.receiver_address_changed),
        );
        if let Some(gift) = self.gift_receiving_status {
            row.insert("giftReceivingStatus".into(), json!(gift));
        }
        Value::Object(row)
    }

    /// The feed's sort key: `lastChangedDate`, then `productOrderId` (unique per row, because a
    /// product order's own events strictly increase in time).
    pub fn key(&self) -> (i64, &str) {
        (
            self.last_changed_date.timestamp_millis(),
            &self.product_order_id,
        )
    }
}

/// The generated store. After [`Shop::generate`] it changes only through [`Shop::advance`].
#[derive(Debug, Clone)]
pub struct Shop {
    from: DateTime<FixedOffset>,
    to: DateTime<FixedOffset>,
    /// Every change, sorted by [`ChangeEvent::key`]: the history, never served.
    events: Vec<ChangeEvent>,
    /// The feed: each product order's latest change only, sorted by [`ChangeEvent::key`].
    records: Vec<ChangeEvent>,
    /// `lastChangedDate` (ms) of each product order's record, to find it in `records`.
    record_ms: HashMap<String, i64>,
    seed: u64,
    /// Product order ids in generation order.
    ids: Vec<String>,
    details: HashMap<String, Value>,
}

/// One step of a product order's life: `(lastChangedType, productOrderStatus, claimType,
/// claimStatus)` after the change.
type Step = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

const PAY_WAITING: Step = ("PAY_WAITING", "PAYMENT_WAITING", None, None);
const PAYED: Step = ("PAYED", "PAYED", None, None);
const DISPATCHED: Step = ("DISPATCHED", "DELIVERING", None, None);
const DECIDED: Step = ("PURCHASE_DECIDED", "PURCHASE_DECIDED", None, None);

/// What happens after payment; weighted by repetition (most orders just ship and get decided).
const PATHS: [&[Step]; 9] = [
    &[],
    &[DISPATCHED, DECIDED],
    &[DISPATCHED, DECIDED],
    &[DISPATCHED, DECIDED],
    &[
        ("DELIVERY_ADDRESS_CHANGED", "PAYED", None, None),
        DISPATCHED,
        DECIDED,
    ],
    &[
        (
            "CLAIM_REQUESTED",
            "PAYED",
            Some("CANCEL"),
            Some("CANCEL_REQUEST"),
        ),
        (
            "CLAIM_COMPLETED",
            "CANCELED",
            Some("CANCEL"),
            Some("CANCEL_DONE"),
        ),
    ],
    &[
        DISPATCHED,
        (
            "CLAIM_REQUESTED",
            "DELIVERED",
            Some("RETURN"),
            Some("RETURN_REQUEST"),
        ),
        (
            "COLLECT_DONE",
            "DELIVERED",
            Some("RETURN"),
            Some("COLLECT_DONE"),
        ),
    ],
    &[("GIFT_RECEIVED", "PAYED", None, None), DISPATCHED],
    &[
        DISPATCHED,
        (
            "CLAIM_REQUESTED",
            "DELIVERING",
            Some("EXCHANGE"),
            Some("EXCHANGE_REQUEST"),
        ),
    ],
];

const SURNAMES: [&str; 10] = ["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임"];
const GIVEN: [&str; 10] = [
    "민지", "서연", "지훈", "수진", "도윤", "하은", "준서", "예린", "현우", "지아",
];
/// Handed out first, in order, so every shop of a few orders contains all of them.
const HOSTILE_PRODUCTS: [&str; 8] = [
    "=HYPERLINK(\"https://example.invalid\",\"클릭\") 특가",
    "+82 무선 충전기 15W",
    "@홈 호텔식 수건 5매",
    "-50% 양말 10켤레 세트",
    "선물 포장 🎁🎄 수제 쿠키",
    "줄바꿈\n들어간 상품명\r\n두 번째 줄",
    "탭\t문자와 \"따옴표\", 쉼표 상품",
    "👨‍👩‍👧‍👦 가족 잠옷 세트 (ZWJ)",
];
const PRODUCTS: [&str; 6] = [
    "무선 이어폰 🎧 (화이트)",
    "유기농 제주 감귤 5kg",
    "스테인리스 텀블러 500ml",
    "고양이 스크래쳐 🐱 대형",
    "핸드드립 커피 원두 200g",
    "국산 참기름 350ml",
];
const OPTIONS: [&str; 5] = [
    "색상: 화이트",
    "용량: 500ml / 색상: 블랙",
    "",
    "사이즈: L",
    "=옵션: 기본",
];
const HOSTILE_MEMOS: [&str; 6] = [
    "=1+1",
    "+821012345678 로 연락 주세요",
    "@경비실 맡겨주세요",
    "-",
    "부재 시\n경비실에 맡겨주세요\r\n감사합니다 🙏",
    "",
];
const MEMOS: [&str; 4] = [
    "문 앞에 놓아주세요 🙏",
    "배송 전 연락 바랍니다",
    "파손 주의 📦",
    "공동현관 비밀번호 #1234",
];
const ROADS: [(&str, &str); 5] = [
    ("서울특별시 강남구 테헤란로 152", "서울특별시"),
    ("부산광역시 해운대구 센텀중앙로 79", "부산광역시"),
    ("경기도 성남시 분당구 판교역로 235", "경기도"),
    ("제주특별자치도 제주시 첨단로 242", "제주특별자치도"),
    ("대구광역시 중구 동성로 2길 80", "대구광역시"),
];
const PAYMENT_MEANS: [&str; 5] = [
    "신용카드",
    "간편결제",
    "무통장입금",
    "포인트결제",
    "휴대폰결제",
];
const COMPANIES: [&str; 4] = ["CJGLS", "HANJIN", "EPOST", "LOTTE"];

/// One product order while it is being generated.
struct Item {
    id: String,
    steps: Vec<(Step, DateTime<FixedOffset>)>,
}

impl Shop {
    /// Generates `orders` orders with changes in `[from, to)`. The same arguments always give
    /// the same shop.
    pub fn generate(
        seed: u64,
        orders: usize,
        from: DateTime<FixedOffset>,
        to: DateTime<FixedOffset>,
    ) -> Shop {
        let from = from.with_timezone(&kst());
        let to = to.with_timezone(&kst()).max(from + TimeDelta::seconds(1));
        let mut rng = Rng::new(seed);
        let span_ms = (to - from).num_milliseconds().max(1) as u64;
        let order_base = 1_000_000 + rng.below(8_000_000);
        let item_base = 1_000_000_000 + rng.below(8_000_000_000);
        let mut next_item = 0u64;
        let mut events = Vec::new();
        let mut ids = Vec::new();
        let mut details = HashMap::new();

        for n in 0..orders {
            let mut t0 = from + TimeDelta::milliseconds(rng.below(span_ms) as i64);
            if rng.below(3) == 0 {
                // Whole seconds are common in real feeds; also makes ties likelier.
                t0 -= TimeDelta::milliseconds(t0.timestamp_subsec_millis() as i64);
                t0 = t0.max(from);
            }
            let waits = rng.below(12) == 0;
            let paid_at = if waits {
                t0 + TimeDelta::minutes(2 + rng.below(180) as i64)
            } else {
                t0
            };
            let day = t0.format("%Y%m%d").to_string();
            let order_id = format!("{day}{:08}", order_base + n as u64);

            let mut items = Vec::new();
            for _ in 0..1 + rng.below(3) {
                let id = format!("{day}{:011}", item_base + next_item);
                next_item += 1;
                let path = *rng.pick(&PATHS);
                let mut plan: Vec<Step> = Vec::new();
                if waits {
                    plan.push(PAY_WAITING);
                }
                plan.push(PAYED);
                plan.extend_from_slice(path);
                plan.truncate(1 + rng.below(4) as usize);

                let mut steps = Vec::new();
                let mut at = t0;
                for (i, step) in plan.into_iter().enumerate() {
                    if i > 0 {
                        at = if step.0 == "PAYED" {
                            paid_at
                        } else if step.0 == "DISPATCHED" && rng.below(3) != 0 {
                            next_dispatch_run(at + TimeDelta::minutes(5))
                        } else {
                            let gap = 60_000 + rng.below(36 * 3_600_000);
                            let mut next = at + TimeDelta::milliseconds(gap as i64);
                            if rng.below(2) == 0 {
                                // Still after `at`: the gap is at least a minute.
                                next -=
                                    TimeDelta::milliseconds(next.timestamp_subsec_millis() as i64);
                            }
                            next
                        };
                    }
                    if at >= to {
                        break;
                    }
                    steps.push((step, at));
                }
                items.push(Item { id, steps });
            }

            let special_unknown = n == orders / 3;
            let special_memo = n == orders / 2;
            let order = OrderGen::new(&mut rng, order_id, waits, t0, paid_at);
            let mut order_total = 0;
            let mut built = Vec::new();
            for (i, item) in items.iter_mut().enumerate() {
                if special_unknown
                    && i == 0
                    && let Some(last) = item.steps.last_mut()
                {
                    last.0.1 = UNKNOWN_STATUS;
                }
                let index = ids.len() + built.len();
                let (product_order, delivery, amount) =
                    order.product_order(&mut rng, item, index, special_memo && i == 0);
                order_total += amount;
                built.push((item.id.clone(), product_order, delivery));
                events.extend(order.events(item));
            }
            let order_paid = items
                .iter()
                .any(|item| item.steps.iter().any(|(s, _)| s.0 == "PAYED"));
            let order_json = order.to_json(order_total, order_paid);
            for (id, product_order, delivery) in built {
                let mut detail = Map::new();
                detail.insert("order".into(), order_json.clone());
                detail.insert("productOrder".into(), product_order);
                if let Some(delivery) = delivery {
                    detail.insert("delivery".into(), delivery);
                }
                // Present in real answers; our model ignores it.
                detail.insert("completedClaims".into(), json!([]));
                ids.push(id.clone());
                details.insert(id, Value::Object(detail));
            }
        }
        events.sort_by(|a, b| a.key().cmp(&b.key()));
        let records = latest_records(&events);
        let record_ms = records
            .iter()
            .map(|e| (e.product_order_id.clone(), e.key().0))
            .collect();
        Shop {
            from,
            to,
            events,
            records,
            record_ms,
            seed,
            ids,
            details,
        }
    }

    /// The activity span the shop was generated for.
    pub fn span(&self) -> (DateTime<FixedOffset>, DateTime<FixedOffset>) {
        (self.from, self.to)
    }

    /// Every product order id, in generation order.
    pub fn product_order_ids(&self) -> Vec<String> {
        self.ids.clone()
    }

    /// Every change that ever happened, in time order: the history NAVER does not serve.
    pub fn events(&self) -> &[ChangeEvent] {
        &self.events
    }

    /// The change feed as NAVER keeps it: one record per product order, its latest change, in
    /// feed order.
    pub fn records(&self) -> &[ChangeEvent] {
        &self.records
    }

    /// The feed records with `lastChangedDate` in `[from, to]` (inclusive both ends, like the
    /// API), in feed order: what the feed answers for that range now.
    pub fn changes_between(
        &self,
        from: DateTime<FixedOffset>,
        to: DateTime<FixedOffset>,
    ) -> Vec<ChangeEvent> {
        let (start, end) = self.range(from, to);
        self.records[start..end].to_vec()
    }

    /// Index range of feed records in `[from, to]`.
    pub(crate) fn range(
        &self,
        from: DateTime<FixedOffset>,
        to: DateTime<FixedOffset>,
    ) -> (usize, usize) {
        let start = self.records.partition_point(|e| e.last_changed_date < from);
        let end = self
            .records
            .partition_point(|e| e.last_changed_date <= to)
            .max(start);
        (start, end)
    }

    /// The current (latest) detail object of a product order, as `data[]` of the details
    /// endpoint carries it.
    pub fn detail_json(&self, product_order_id: &str) -> Option<Value> {
        self.details.get(product_order_id).cloned()
    }

    /// Every customer name, phone number and address the shop's orders hold (orderer and
    /// shipping), sorted and distinct: the values a privacy test looks for where they must not be.
    pub fn personal_data(&self) -> Vec<String> {
        let mut values = Vec::new();
        for detail in self.details.values() {
            for v in [
                &detail["order"]["ordererName"],
                &detail["order"]["ordererTel"],
                &detail["productOrder"]["shippingAddress"]["name"],
                &detail["productOrder"]["shippingAddress"]["tel1"],
                &detail["productOrder"]["shippingAddress"]["baseAddress"],
                &detail["productOrder"]["shippingAddress"]["detailedAddress"],
            ] {
                if let Some(s) = v.as_str().filter(|s| !s.is_empty()) {
                    values.push(s.to_owned());
                }
            }
        }
        values.sort();
        values.dedup();
        values
    }

    /// Moves a product order one step along its life at `at` (after its latest change): paid →
    /// dispatched (`DELIVERING`), dispatched or delivered → purchase decided. Appends the change
    /// to the feed and updates the detail, as NAVER would. `None` (nothing changes) for orders in
    /// a claim, already decided, or unknown, or when `at` is not after the latest change.
    pub fn advance(
        &mut self,
        product_order_id: &str,
        at: DateTime<FixedOffset>,
    ) -> Option<ChangeEvent> {
        let latest = self.latest_change(product_order_id)?.clone();
        if latest.claim_type.is_some() || at <= latest.last_changed_date {
            return None;
        }
        let (kind, status) = match latest.product_order_status {
            "PAYED" => (DISPATCHED.0, DISPATCHED.1),
            "DELIVERING" | "DELIVERED" => (DECIDED.0, DECIDED.1),
            _ => return None,
        };
        let at = at.with_timezone(&kst());
        let event = ChangeEvent {
            last_changed_date: at,
            last_changed_type: kind,
            product_order_status: status,
            ..latest
        };
        let tracking = self.tracking_number(product_order_id);
        let detail = self.details.get_mut(product_order_id)?;
        let po = &mut detail["productOrder"];
        po["productOrderStatus"] = json!(status);
        if status == DECIDED.1 {
            po["decisionDate"] = json!(naver_time(at));
            if let Some(delivery) = detail.get_mut("delivery") {
                delivery["deliveryStatus"] = json!("DELIVERY_COMPLETION");
            }
        } else {
            po["placeOrderStatus"] = json!("OK");
            detail["delivery"] = json!({
                "deliveryCompany": "CJGLS",
                "trackingNumber": tracking,
                "deliveryMethod": "DELIVERY",
                "deliveryStatus": "DELIVERING",
                "sendDate": naver_time(at),
                "isWrongTrackingNumber": false,
            });
        }
        self.record(event.clone());
        Some(event)
    }

    /// A 12-digit tracking number, fixed per product order and seed.
    fn tracking_number(&self, product_order_id: &str) -> String {
        let mut rng = Rng::new(
            self.seed
                ^ product_order_id
                    .bytes()
                    .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64)),
        );
        format!("{:012}", rng.below(1_000_000_000_000))
    }

    /// Adds `event` to the history and makes it the product order's feed record, replacing the
    /// one before (the feed is a snapshot).
    fn record(&mut self, event: ChangeEvent) {
        if let Some(old) = self.record_index(&event.product_order_id) {
            self.records.remove(old);
        }
        self.record_ms
            .insert(event.product_order_id.clone(), event.key().0);
        let at = self.records.partition_point(|e| e.key() < event.key());
        self.records.insert(at, event.clone());
        let at = self.events.partition_point(|e| e.key() < event.key());
        self.events.insert(at, event.clone());
        self.to = self
            .to
            .max(event.last_changed_date + TimeDelta::milliseconds(1));
    }

    /// The courier's delivery completion of a product order being delivered, at `at`: the
    /// detail becomes `DELIVERED` with its `deliveredDate`, and the feed record stays exactly as
    /// it was (a delivery completion is not a listed change, §2e). `false` when the product
    /// order is not `DELIVERING` now, or was sent less than [`COURIER_TIME`] before `at`.
    pub fn deliver(&mut self, product_order_id: &str, at: DateTime<FixedOffset>) -> bool {
        let Some(detail) = self.details.get_mut(product_order_id) else {
            return false;
        };
        let sent = detail["delivery"]["sendDate"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
        if detail["productOrder"]["productOrderStatus"] != json!("DELIVERING")
            || detail["productOrder"].get("claimType").is_some()
            || sent.is_some_and(|sent| sent > at - COURIER_TIME)
        {
            return false;
        }
        detail["productOrder"]["productOrderStatus"] = json!("DELIVERED");
        if let Some(delivery) = detail.get_mut("delivery") {
            delivery["deliveryStatus"] = json!("DELIVERY_COMPLETION");
            delivery["deliveredDate"] = json!(naver_time(at));
        }
        true
    }

    /// The customer cancels one unit of a paid product order of two or more units, and NAVER
    /// completes it at once: a `CLAIM_COMPLETED` feed record, `remainQuantity` and
    /// `remainPaymentAmount` lowered by one unit, `quantity`/`totalPaymentAmount` (the initial
    /// values) unchanged. `None` when the product order is not a paid one of several units.
    pub fn cancel_one(
        &mut self,
        product_order_id: &str,
        at: DateTime<FixedOffset>,
    ) -> Option<ChangeEvent> {
        let latest = self.latest_change(product_order_id)?.clone();
        if latest.product_order_status != "PAYED"
            || latest.claim_type.is_some()
            || at <= latest.last_changed_date
        {
            return None;
        }
        let detail = self.details.get_mut(product_order_id)?;
        let po = &mut detail["productOrder"];
        let remain = po["remainQuantity"].as_i64().or(po["quantity"].as_i64())?;
        if remain < 2 {
            return None;
        }
        let amount = po["remainPaymentAmount"]
            .as_i64()
            .or(po["totalPaymentAmount"].as_i64())?;
        let unit = amount / remain;
        po["remainQuantity"] = json!(remain - 1);
        po["remainPaymentAmount"] = json!(amount - unit);
        po["claimType"] = json!("CANCEL");
        po["claimStatus"] = json!("CANCEL_DONE");
        let event = ChangeEvent {
            last_changed_date: at.with_timezone(&kst()),
            last_changed_type: "CLAIM_COMPLETED",
            claim_type: Some("CANCEL"),
            claim_status: Some("CANCEL_DONE"),
            ..latest
        };
        self.record(event.clone());
        Some(event)
    }

    /// `orders` new orders paid in `[from, to)` (generated like the shop's own, from `seed`),
    /// each product order's feed record and detail added. Their ids follow the payment day, so
    /// a different seed keeps them apart from the shop's. Returns the new product order ids.
    pub fn add_orders(
        &mut self,
        seed: u64,
        orders: usize,
        from: DateTime<FixedOffset>,
        to: DateTime<FixedOffset>,
    ) -> Vec<String> {
        let more = Shop::generate(seed, orders, from, to);
        let mut added = Vec::new();
        for id in &more.ids {
            if self.details.contains_key(id) {
                continue;
            }
            let Some(detail) = more.details.get(id) else {
                continue;
            };
            self.details.insert(id.clone(), detail.clone());
            self.ids.push(id.clone());
            if let Some(record) = more.latest_change(id) {
                self.record(record.clone());
            }
            added.push(id.clone());
        }
        added
    }

    /// Product orders whose order's `paymentDate` (`PAYED_DATETIME`) or `orderDate`
    /// (`ORDERED_DATETIME`) is in `[from, to]` (inclusive, like the API), sorted by that date
    /// then id: what the conditional search (§2c) pages through. `None` for another range type.
    pub fn dated_between(
        &self,
        range_type: &str,
        from: DateTime<FixedOffset>,
        to: DateTime<FixedOffset>,
    ) -> Option<Vec<(DateTime<FixedOffset>, String)>> {
        let field = match range_type {
            "PAYED_DATETIME" => "paymentDate",
            "ORDERED_DATETIME" => "orderDate",
            _ => return None,
        };
        let mut found: Vec<(DateTime<FixedOffset>, String)> = self
            .details
            .iter()
            .filter_map(|(id, detail)| {
                let at = DateTime::parse_from_rfc3339(detail["order"][field].as_str()?).ok()?;
                (from <= at && at <= to).then(|| (at, id.clone()))
            })
            .collect();
        found.sort();
        Some(found)
    }

    /// The feed record of a product order: its latest listed change.
    pub fn latest_change(&self, product_order_id: &str) -> Option<&ChangeEvent> {
        self.record_index(product_order_id)
            .map(|at| &self.records[at])
    }

    fn record_index(&self, product_order_id: &str) -> Option<usize> {
        let ms = *self.record_ms.get(product_order_id)?;
        let at = self
            .records
            .partition_point(|e| e.key() < (ms, product_order_id));
        (self.records.get(at)?.product_order_id == product_order_id).then_some(at)
    }
}

/// Each product order's latest event, in feed order.
fn latest_records(events: &[ChangeEvent]) -> Vec<ChangeEvent> {
    let mut latest: HashMap<&str, &ChangeEvent> = HashMap::new();
    for event in events {
        // `events` is sorted by time, so a later one is a later change.
        latest.insert(&event.product_order_id, event);
    }
    let mut records: Vec<ChangeEvent> = latest.into_values().cloned().collect();
    records.sort_by(|a, b| a.key().cmp(&b.key()));
    records
}

/// The first dispatch run (14:00:00.000 or 17:30:00.000 KST) at or after `after`.
fn next_dispatch_run(after: DateTime<FixedOffset>) -> DateTime<FixedOffset> {
    let runs = [
        NaiveTime::from_hms_opt(14, 0, 0).expect("valid time"),
        NaiveTime::from_hms_opt(17, 30, 0).expect("valid time"),
    ];
    let local = after.with_timezone(&kst());
    let mut day = local.date_naive();
    loop {
        for run in runs {
            if let Some(at) = day.and_time(run).and_local_timezone(kst()).single()
                && at >= local
            {
                return at;
            }
        }
        day = day.succ_opt().unwrap_or(day);
    }
}

/// Per-order values shared by its product orders.
struct OrderGen {
    order_id: String,
    waits: bool,
    ordered: DateTime<FixedOffset>,
    paid: DateTime<FixedOffset>,
    orderer: String,
    tel: String,
    means: &'static str,
    location: &'static str,
}

impl OrderGen {
    fn new(
        rng: &mut Rng,
        order_id: String,
        waits: bool,
        first_change: DateTime<FixedOffset>,
        paid: DateTime<FixedOffset>,
    ) -> OrderGen {
        let means: &&'static str = rng.pick(&PAYMENT_MEANS);
        let means = *means;
        OrderGen {
            order_id,
            waits,
            ordered: first_change - TimeDelta::seconds(5 + rng.below(120) as i64),
            paid,
            orderer: format!("{}{}", rng.pick(&SURNAMES), rng.pick(&GIVEN)),
            tel: format!("010-{:04}-{:04}", rng.below(10_000), rng.below(10_000)),
            means,
            location: if rng.below(3) == 0 { "PC" } else { "MOBILE" },
        }
    }

    /// Feed rows for one product order, with address-change and gift flags carried forward.
    fn events(&self, item: &Item) -> Vec<ChangeEvent> {
        let gift = item.steps.iter().any(|(s, _)| s.0 == "GIFT_RECEIVED");
        let mut address_changed = false;
        let mut received = false;
        item.steps
            .iter()
            .map(|&((kind, status, claim_type, claim_status), at)| {
                address_changed |= kind == "DELIVERY_ADDRESS_CHANGED";
                received |= kind == "GIFT_RECEIVED";
                ChangeEvent {
                    order_id: self.order_id.clone(),
                    product_order_id: item.id.clone(),
                    last_changed_date: at,
                    last_changed_type: kind,
                    payment_date: (kind != "PAY_WAITING").then_some(self.paid),
                    product_order_status: status,
                    claim_type,
                    claim_status,
                    receiver_address_changed: address_changed,
                    gift_receiving_status: gift.then_some(if received {
                        "RECEIVED"
                    } else {
                        "WAIT_FOR_RECEIVING"
                    }),
                }
            })
            .collect()
    }

    /// `(productOrder, delivery, payment amount)` reflecting the latest step.
    fn product_order(
        &self,
        rng: &mut Rng,
        item: &Item,
        index: usize,
        huge_memo: bool,
    ) -> (Value, Option<Value>, i64) {
        let (last, last_at) = item.steps.last().copied().unwrap_or((PAYED, self.paid));
        let (_, status, claim_type, claim_status) = last;
        let dispatched_at = item
            .steps
            .iter()
            .find(|(s, _)| s.0 == "DISPATCHED")
            .map(|&(_, at)| at);
        let decided_at = item
            .steps
            .iter()
            .find(|(s, _)| s.0 == "PURCHASE_DECIDED")
            .map(|&(_, at)| at);
        let paid = item.steps.iter().any(|(s, _)| s.0 != "PAY_WAITING");

        let name = match HOSTILE_PRODUCTS.get(index) {
            Some(name) => *name,
            None if rng.below(5) == 0 => rng.pick(&HOSTILE_PRODUCTS),
            None => rng.pick(&PRODUCTS),
        };
        let memo = if huge_memo {
            Some(huge_memo_text())
        } else {
            match HOSTILE_MEMOS.get(index) {
                Some(memo) => Some(memo.to_string()),
                None if rng.below(4) == 0 => None,
                None if rng.below(4) == 0 => Some(rng.pick(&HOSTILE_MEMOS).to_string()),
                None => Some(rng.pick(&MEMOS).to_string()),
            }
        };
        let quantity = 1 + rng.below(3) as i64;
        let unit_price = 100 * (50 + rng.below(1_500) as i64);
        let option_price = if rng.below(3) == 0 { 2_000 } else { 0 };
        let product_amount = quantity * (unit_price + option_price);
        let discount = if rng.below(4) == 0 {
            product_amount / 10 / 10 * 10
        } else {
            0
        };
        let fee = if product_amount >= 30_000 { 0 } else { 3_000 };
        let payment = product_amount - discount + fee;
        let canceled = matches!(status, "CANCELED");

        let mut po = Map::new();
        let mut put = |k: &str, v: Value| {
            po.insert(k.to_owned(), v);
        };
        put("productOrderId", json!(item.id));
        put("productOrderStatus", json!(status));
        if let (Some(t), Some(s)) = (claim_type, claim_status) {
            put("claimType", json!(t));
            put("claimStatus", json!(s));
            put("claimId", json!(format!("{}C", item.id)));
        }
        let place = if canceled {
            "CANCEL"
        } else if dispatched_at.is_some() || rng.below(2) == 0 {
            "OK"
        } else {
            "NOT_YET"
        };
        put("placeOrderStatus", json!(place));
        if place == "OK" {
            put(
                "placeOrderDate",
                json!(naver_time(self.paid + TimeDelta::minutes(30))),
            );
        }
        let product_id = 4_000_000_000 + rng.below(900_000_000);
        put("productId", json!(product_id.to_string()));
        put("originalProductId", json!((product_id - 1).to_string()));
        if rng.below(3) == 0 {
            put("groupProductId", json!(10_000 + rng.below(90_000)));
        }
        put("merchantChannelId", json!("500012345"));
        put("productName", json!(name));
        if let Some(option) = Some(*rng.pick(&OPTIONS)).filter(|o| !o.is_empty()) {
            put("productOption", json!(option));
            put(
                "optionCode",
                json!(format!("{}", 30_000_000 + rng.below(9_000_000))),
            );
        }
        put(
            "itemNo",
            json!(format!("{}", 90_000_000 + rng.below(9_000_000))),
        );
        put("quantity", json!(quantity));
        put("initialQuantity", json!(quantity));
        put("remainQuantity", json!(if canceled { 0 } else { quantity }));
        put("unitPrice", json!(unit_price));
        put("optionPrice", json!(option_price));
        put("totalProductAmount", json!(product_amount));
        put("productDiscountAmount", json!(discount));
        put("totalPaymentAmount", json!(payment));
        put("initialPaymentAmount", json!(payment));
        put(
            "remainPaymentAmount",
            json!(if canceled { 0 } else { payment }),
        );
        put("deliveryFeeAmount", json!(fee));
        put(
            "expectedSettlementAmount",
            json!((product_amount - discount) * 94 / 100),
        );
        // A few fields our model does not declare, as NAVER sends ~90.
        put("commissionRatingType", json!("결제수수료"));
        put("inflowPath", json!("네이버쇼핑"));
        put("taxType", json!("TAX"));
        put("deliveryAttributeType", json!("NORMAL"));
        put("expectedDeliveryMethod", json!("DELIVERY"));
        put(
            "shippingDueDate",
            json!(naver_time(self.paid + TimeDelta::days(3))),
        );
        if rng.below(15) != 0 {
            let (road, state) = *rng.pick(&ROADS);
            put(
                "shippingAddress",
                json!({
                    "addressType": "DOMESTIC",
                    "name": format!("{}{}", rng.pick(&SURNAMES), rng.pick(&GIVEN)),
                    "baseAddress": road,
                    "detailedAddress": format!("{}동 {}호", 101 + rng.below(12), 101 + rng.below(1500)),
                    "zipCode": format!("{:05}", 1_000 + rng.below(62_000)),
                    "tel1": format!("010-{:04}-{:04}", rng.below(10_000), rng.below(10_000)),
                    "tel2": "",
                    "city": state,
                    "state": state,
                    "country": "한국",
                    "isRoadNameAddress": true,
                }),
            );
        }
        if let Some(memo) = memo {
            put("shippingMemo", json!(memo));
        }
        if rng.below(8) == 0 {
            let day = self.paid + TimeDelta::days(4);
            put(
                "hopeDelivery",
                json!({
                    "hopeDeliveryYmd": day.format("%Y%m%d").to_string(),
                    "hopeDeliveryHm": "1400",
                    "region": "",
                }),
            );
        }
        if let Some(at) = decided_at {
            put("decisionDate", json!(naver_time(at)));
        }

        // Some dispatched product orders come back without `delivery` at all.
        let delivery = dispatched_at.filter(|_| rng.below(8) != 0).map(|sent| {
            let mut d = Map::new();
            d.insert("deliveryCompany".into(), json!(rng.pick(&COMPANIES)));
            d.insert(
                "trackingNumber".into(),
                json!(format!("{:012}", rng.below(1_000_000_000_000))),
            );
            d.insert("deliveryMethod".into(), json!("DELIVERY"));
            let delivered = decided_at.is_some() || claim_type == Some("RETURN");
            d.insert(
                "deliveryStatus".into(),
                json!(if delivered {
                    "DELIVERY_COMPLETION"
                } else {
                    "DELIVERING"
                }),
            );
            d.insert("sendDate".into(), json!(naver_time(sent)));
            d.insert(
                "pickupDate".into(),
                json!(naver_time(sent + TimeDelta::hours(2))),
            );
            if delivered && last_at > sent + TimeDelta::minutes(1) {
                d.insert(
                    "deliveredDate".into(),
                    json!(naver_time(sent + (last_at - sent) / 2)),
                );
            }
            d.insert("isWrongTrackingNumber".into(), json!(false));
            Value::Object(d)
        });
        let amount = if paid { payment } else { 0 };
        (Value::Object(po), delivery, amount)
    }

    /// The `order` block; `paid` when any of its product orders has had its PAYED change.
    fn to_json(&self, total: i64, paid: bool) -> Value {
        let mut o = Map::new();
        o.insert("orderId".into(), json!(self.order_id));
        o.insert("orderDate".into(), json!(naver_time(self.ordered)));
        if self.waits {
            o.insert(
                "paymentDueDate".into(),
                json!(naver_time(self.ordered + TimeDelta::days(2))),
            );
        }
        if paid {
            o.insert("paymentDate".into(), json!(naver_time(self.paid)));
        }
        o.insert("paymentMeans".into(), json!(self.means));
        o.insert(
            "ordererId".into(),
            json!(format!("{}****", &self.order_id[8..12])),
        );
        o.insert("ordererNo".into(), json!(self.order_id[4..].to_string()));
        o.insert("ordererName".into(), json!(self.orderer));
        o.insert("ordererTel".into(), json!(self.tel));
        o.insert("payLocationType".into(), json!(self.location));
        o.insert("generalPaymentAmount".into(), json!(total));
        o.insert("naverMileagePaymentAmount".into(), json!(0));
        o.insert("chargeAmountPaymentAmount".into(), json!(0));
        o.insert("payLaterPaymentAmount".into(), json!(0));
        o.insert("orderDiscountAmount".into(), json!(0));
        o.insert("isDeliveryMemoParticularInput".into(), json!("false"));
        Value::Object(o)
    }
}

/// Exactly [`HUGE_MEMO_CHARS`] characters, starting with a formula and containing newlines and
/// emoji, so truncation by bytes instead of characters shows up.
fn huge_memo_text() -> String {
    let pattern = "=긴 배송 메모 🙏\n문 앞에 놓아주세요. ";
    pattern.chars().cycle().take(HUGE_MEMO_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ordersync_core::product_order::{ChangeStatus, ProductOrderDetail, ProductOrderStatus};

    fn shop(orders: usize) -> Shop {
        let from = DateTime::parse_from_rfc3339("2026-01-10T00:00:00+09:00").unwrap();
        Shop::generate(7, orders, from, from + TimeDelta::days(3))
    }

    #[test]
    fn advance_moves_an_order_one_step_in_feed_and_detail() {
        let mut shop = shop(40);
        let at = shop.span().1 + TimeDelta::hours(1);
        let before = shop.events().len();
        let paid = shop
            .product_order_ids()
            .into_iter()
            .find(|id| {
                shop.latest_change(id).unwrap().product_order_status == "PAYED"
                    && shop.latest_change(id).unwrap().claim_type.is_none()
            })
            .expect("some paid order");
        let was = shop.latest_change(&paid).unwrap().clone();
        let records = shop.records().len();
        assert_eq!(
            shop.changes_between(was.last_changed_date, was.last_changed_date)
                .iter()
                .filter(|e| e.product_order_id == paid)
                .count(),
            1
        );
        let event = shop.advance(&paid, at).expect("a paid order advances");
        assert_eq!(event.product_order_status, "DELIVERING");
        assert_eq!(shop.events().len(), before + 1);
        // The feed is a snapshot: the record moved; the old date no longer lists the order.
        assert_eq!(shop.records().len(), records);
        assert!(
            shop.changes_between(was.last_changed_date, was.last_changed_date)
                .iter()
                .all(|e| e.product_order_id != paid)
        );
        let delivery = &shop.detail_json(&paid).unwrap()["delivery"];
        assert_eq!(delivery["deliveryStatus"], "DELIVERING");
        assert_eq!(delivery["trackingNumber"].as_str().unwrap().len(), 12);
        assert!(
            shop.events().windows(2).all(|w| w[0].key() < w[1].key()),
            "feed order kept"
        );
        assert_eq!(shop.latest_change(&paid).unwrap().last_changed_date, at);
        assert_eq!(
            shop.detail_json(&paid).unwrap()["productOrder"]["productOrderStatus"],
            "DELIVERING"
        );
        assert_eq!(shop.changes_between(at, at).len(), 1);
        // A delivery completion shows in the detail only; the feed record stays.
        let record = shop.latest_change(&paid).unwrap().clone();
        assert!(
            !shop.deliver(&paid, at + TimeDelta::seconds(30)),
            "not the same hour"
        );
        let arrives = at + COURIER_TIME;
        assert!(shop.deliver(&paid, arrives));
        assert!(!shop.deliver(&paid, arrives), "delivered once");
        assert_eq!(shop.latest_change(&paid).unwrap(), &record);
        let detail = shop.detail_json(&paid).unwrap();
        assert_eq!(detail["productOrder"]["productOrderStatus"], "DELIVERED");
        assert_eq!(detail["delivery"]["deliveredDate"], naver_time(arrives));
        // Not backwards in time, and decided orders stay decided.
        assert!(shop.advance(&paid, at).is_none());
        let decided = shop
            .advance(&paid, arrives + TimeDelta::minutes(1))
            .unwrap();
        assert_eq!(decided.product_order_status, "PURCHASE_DECIDED");
        assert!(
            shop.advance(&paid, arrives + TimeDelta::minutes(2))
                .is_none()
        );
        assert!(
            shop.records().windows(2).all(|w| w[0].key() < w[1].key()),
            "one record per order, in feed order"
        );
    }

    #[test]
    fn a_partial_cancel_lowers_the_remaining_values_only_and_new_orders_join() {
        let mut shop = shop(200);
        let at = shop.span().1 + TimeDelta::hours(1);
        let id = shop
            .product_order_ids()
            .into_iter()
            .find(|id| shop.cancel_one(id, at).is_some())
            .expect("a paid order of several units");
        let po = &shop.detail_json(&id).unwrap()["productOrder"];
        let quantity = po["quantity"].as_i64().unwrap();
        assert_eq!(po["remainQuantity"].as_i64().unwrap(), quantity - 1);
        assert!(po["remainPaymentAmount"].as_i64() < po["totalPaymentAmount"].as_i64());
        assert_eq!(po["claimStatus"], "CANCEL_DONE");
        assert_eq!(
            shop.latest_change(&id).unwrap().last_changed_type,
            "CLAIM_COMPLETED"
        );

        let before = shop.product_order_ids().len();
        let added = shop.add_orders(99, 5, at, at + TimeDelta::hours(1));
        assert!(!added.is_empty());
        assert_eq!(shop.product_order_ids().len(), before + added.len());
        for id in &added {
            let record = shop.latest_change(id).unwrap();
            assert!(record.last_changed_date >= at);
            assert!(shop.detail_json(id).is_some());
        }
    }

    #[test]
    fn deterministic_and_well_formed() {
        let a = shop(300);
        let b = shop(300);
        assert_eq!(a.events, b.events);
        assert_eq!(a.ids, b.ids);
        let (from, to) = a.span();
        let mut seen = std::collections::HashSet::new();
        for id in &a.ids {
            assert_eq!(id.len(), 19, "{id}");
            assert!(id.bytes().all(|c| c.is_ascii_digit()));
            assert!(seen.insert(id.clone()), "duplicate {id}");
        }
        for e in &a.events {
            assert_eq!(e.order_id.len(), 16);
            assert!(e.last_changed_date >= from && e.last_changed_date < to);
        }
        assert!(a.events.windows(2).all(|w| w[0].key() < w[1].key()));
        let per: HashMap<&str, usize> = a.events.iter().fold(HashMap::new(), |mut m, e| {
            *m.entry(e.product_order_id.as_str()).or_default() += 1;
            m
        });
        assert!(per.values().all(|&n| (1..=4).contains(&n)));
        assert!(per.values().any(|&n| n >= 3));
        assert_eq!(per.len(), a.ids.len());
    }

    #[test]
    fn ties_and_awkward_content_exist() {
        let s = shop(300);
        let ties = s
            .events
            .windows(2)
            .filter(|w| w[0].last_changed_date == w[1].last_changed_date)
            .count();
        assert!(ties > 50, "{ties} tied rows");
        let all: Vec<Value> = s.ids.iter().map(|id| s.detail_json(id).unwrap()).collect();
        let text = serde_json::to_string(&all).unwrap();
        for needle in [
            "\"=HYPERLINK",
            "\"+82",
            "\"@",
            "\"-50%",
            "\\n",
            "🎁",
            UNKNOWN_STATUS,
        ] {
            assert!(text.contains(needle), "{needle}");
        }
        assert!(all.iter().any(|d| d.get("delivery").is_none()));
        assert!(
            all.iter()
                .any(|d| d["productOrder"].get("shippingAddress").is_none())
        );
        let huge = all
            .iter()
            .filter_map(|d| d["productOrder"]["shippingMemo"].as_str())
            .map(|m| m.chars().count())
            .max();
        assert_eq!(huge, Some(HUGE_MEMO_CHARS));
    }

    #[test]
    fn our_model_parses_every_row_and_detail() {
        let s = shop(200);
        for e in &s.events {
            let row: ChangeStatus = serde_json::from_value(e.to_json()).unwrap();
            assert_eq!(row.last_changed_date, Some(e.last_changed_date));
            assert_eq!(naver_time(e.last_changed_date).len(), 29);
        }
        let mut unknown = 0;
        for id in &s.ids {
            let d: ProductOrderDetail = serde_json::from_value(s.detail_json(id).unwrap()).unwrap();
            let status = d.product_order.unwrap().product_order_status.unwrap();
            // The detail reflects the latest change.
            assert_eq!(
                status.code(),
                s.latest_change(id).unwrap().product_order_status
            );
            unknown += usize::from(matches!(status, ProductOrderStatus::Unknown(_)));
        }
        assert_eq!(unknown, 1);
    }
}
