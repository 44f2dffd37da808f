//! The run summary as a person reads it. Scripts use `--json`, which prints the
//! [`RunSummary`] exactly as the state machine outputs it.

use ordersync_core::events::{RunSummary, SyncCommit};

pub fn render(summary: &RunSummary) -> String {
    let mut text = format!(
        "windows          {}\n\
         orders fetched   {} (changed {}, missing {})\n\
         rows             {}\n\
         sheet            {} appended, {} updated, {} unchanged{}\n\
         API calls        NAVER {}, Google Sheets {}\n",
        summary.windows,
        summary.orders_fetched,
        summary.orders_changed,
        summary.orders_missing,
        summary.rows,
        summary.appended,
        summary.updated,
        summary.unchanged,
        if summary.duplicate_keys_in_sheet > 0 {
            format!(
                " ({} keys found twice in the sheet; the first row was used)",
                summary.duplicate_keys_in_sheet
            )
        } else {
            String::new()
        },
        summary.naver_api_calls,
        summary.sheets_api_calls,
    );
    if let Some(sync) = summary.sync {
        let what = match sync.commit {
            SyncCommit::Moved => "moved to",
            SyncCommit::AlreadyMoved => "already moved (by this execution) to",
            SyncCommit::Superseded => "moved by another sync since this one planned, to",
        };
        text.push_str(&format!(
            "sync cursor      {what} {} (generation {}); {} open orders to re-read, {} re-read now\n",
            sync.cursor, sync.generation, sync.open_orders, summary.orders_rechecked
        ));
    }
    if let Some(budget) = summary.cell_budget {
        let percent = budget.cells as f64 * 100.0 / budget.limit.max(1) as f64;
        text.push_str(&format!(
            "workbook cells   {} of Google's {} ({percent:.0} %){}\n",
            budget.cells,
            budget.limit,
            if budget.warning {
                ": WARNING, new rows will soon be refused; move old rows to another spreadsheet or delete unused tabs and columns"
            } else {
                ""
            }
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use ordersync_core::events::CellBudget;

    #[test]
    fn the_cell_budget_warns_at_80_percent() {
        let mut summary = RunSummary::default();
        assert!(
            !render(&summary).contains("workbook cells"),
            "unknown: not shown"
        );
        summary.cell_budget = Some(CellBudget::new(7_999_999, 10_000_000));
        let text = render(&summary);
        assert!(
            text.contains("7999999 of Google's 10000000 (80 %)") && !text.contains("WARNING"),
            "{text}"
        );
        summary.cell_budget = Some(CellBudget::new(8_000_000, 10_000_000));
        assert!(
            render(&summary).contains("(80 %): WARNING"),
            "{}",
            render(&summary)
        );
    }
}
