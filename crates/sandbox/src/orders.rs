//! Generated NAVER product orders: realistic shapes (Korean names and addresses, emoji in
//! product names, optional blocks left out), deterministic for a seed, for tests, the demo and
//! benchmarks. Nothing here is real customer data.

use chrono::{DateTime, FixedOffset, TimeDelta};
use ordersync_core::product_order::{
    ChangeStatus, Delivery, ImportedOrder, LastChangedType, Order, ProductOrder,
    ProductOrderDetail, ProductOrderStatus, ShippingAddress,
};
use ordersync_core::window::Window;

const SURNAMES: [&str; 8] = ["김", "이", "박", "최", "정", "강", "조", "윤"];
const GIVEN: [&str; 8] = [
    "민지", "서연", "지훈", "수진", "도윤", "하은", "준서", "예린",
];
const PRODUCTS: [&str; 6] = [
    "무선 이어폰 🎧 (화이트)",
    "유기농 제주 감귤 5kg",
    "스테인리스 텀블러 500ml",
    "=SUM(A1:A9) 이름의 상품",
    "고양이 스크래쳐 🐱 대형",
    "핸드드립 커피 원두 200g",
];
const OPTIONS: [&str; 4] = ["색상: 화이트", "용량: 500ml / 색상: 블랙", "", "사이즈: L"];
const ROADS: [&str; 4] = [
    "서울특별시 강남구 테헤란로 152",
    "부산광역시 해운대구 센텀중앙로 79",
    "경기도 성남시 분당구 판교역로 235",
    "제주특별자치도 제주시 첨단로 242",
];
const STATUSES: [ProductOrderStatus; 5] = [
    ProductOrderStatus::Payed,
    ProductOrderStatus::Delivering,
    ProductOrderStatus::Delivered,
    ProductOrderStatus::PurchaseDecided,
    ProductOrderStatus::Canceled,
];

/// A small deterministic generator (xorshift), so fixtures need no RNG crate.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// The NAVER-style id of the `n`th product order (19 digits, increasing).
pub fn product_order_id(n: u64) -> String {
    format!("2026{:015}", 100_000_000 + n)
}

/// One realistic product order numbered `n`, changed at `changed`.
pub fn order(n: u64, changed: DateTime<FixedOffset>, rng: &mut Rng) -> ImportedOrder {
    let id = product_order_id(n);
    let status = rng.pick(&STATUSES).clone();
    let quantity = 1 + rng.below(3) as i64;
    let unit_price = 1_000 * (5 + rng.below(60) as i64);
    let ordered = changed - TimeDelta::minutes(5 + rng.below(600) as i64);
    let name = format!("{}{}", rng.pick(&SURNAMES), rng.pick(&GIVEN));
    let receiver = format!("{}{}", rng.pick(&SURNAMES), rng.pick(&GIVEN));
    let phone = format!("010-{:04}-{:04}", rng.below(10_000), rng.below(10_000));
    let shipped = matches!(
        status,
        ProductOrderStatus::Delivering
            | ProductOrderStatus::Delivered
            | ProductOrderStatus::PurchaseDecided
    );
    ImportedOrder {
        rechecked: false,
        product_order_id: id.clone(),
        change: Some(ChangeStatus {
            order_id: Some(format!("2026{:012}", 10_000_000 + n / 2)),
            product_order_id: Some(id.clone()),
            last_changed_type: Some(if shipped {
                LastChangedType::Dispatched
            } else {
                LastChangedType::Payed
            }),
            last_changed_date: Some(changed),
            product_order_status: Some(status.clone()),
            ..Default::default()
        }),
        detail: ProductOrderDetail {
            order: Some(Order {
                order_id: Some(format!("2026{:012}", 10_000_000 + n / 2)),
                order_date: Some(ordered),
                payment_date: Some(ordered + TimeDelta::seconds(30)),
                payment_means: Some("신용카드".into()),
                orderer_name: Some(name),
                orderer_tel: Some(phone.clone()),
                general_payment_amount: Some(quantity * unit_price + 3_000),
                ..Default::default()
            }),
            product_order: Some(ProductOrder {
                product_order_id: Some(id),
                product_order_status: Some(status),
                product_id: Some(format!("88{:08}", rng.below(100_000_000))),
                product_name: Some(rng.pick(&PRODUCTS).to_string()),
                product_option: Some(rng.pick(&OPTIONS).to_string()).filter(|o| !o.is_empty()),
                quantity: Some(quantity),
                unit_price: Some(unit_price),
                total_product_amount: Some(quantity * unit_price),
                total_payment_amount: Some(quantity * unit_price + 3_000),
                delivery_fee_amount: Some(3_000),
                expected_settlement_amount: Some(quantity * unit_price * 95 / 100),
                shipping_address: Some(ShippingAddress {
                    name: Some(receiver),
                    base_address: Some(rng.pick(&ROADS).to_string()),
                    detailed_address: Some(format!(
                        "{}동 {}호",
                        100 + rng.below(10),
                        101 + rng.below(1500)
                    )),
                    zip_code: Some(format!("{:05}", rng.below(64_000))),
                    tel1: Some(phone),
                    is_road_name_address: Some(true),
                    ..Default::default()
                }),
                shipping_memo: Some("문 앞에 놓아주세요 🙏".into()),
                ..Default::default()
            }),
            delivery: shipped.then(|| Delivery {
                delivery_company: Some("CJGLS".into()),
                tracking_number: Some(format!("{:013}", rng.below(10_000_000_000_000))),
                send_date: Some(changed - TimeDelta::minutes(1)),
                ..Default::default()
            }),
        },
    }
}

/// `count` orders spread evenly over `window`, ids starting at `first`.
pub fn orders_in_window(window: &Window, first: u64, count: u64, seed: u64) -> Vec<ImportedOrder> {
    let mut rng = Rng::new(seed);
    let span_ms = window
        .to
        .signed_duration_since(window.from)
        .num_milliseconds()
        .max(1);
    (0..count)
        .map(|i| {
            let offset = span_ms * i as i64 / count.max(1) as i64;
            order(
                first + i,
                window.from + TimeDelta::milliseconds(offset),
                &mut rng,
            )
        })
        .collect()
}
