//! QR codes drawn module by module (crisp at any size, no texture).

use eframe::egui::{self, Color32, Rect, Sense, vec2};
use sotto_core::qr::QrCode;

/// Draws `code` `side` points wide on a white background with its quiet zone, with an
/// accessible name.
pub fn draw(ui: &mut egui::Ui, code: &QrCode, side: f32, name: &str) -> egui::Response {
    let modules = code.width() + 8;
    let (rect, response) = ui.allocate_exact_size(vec2(side, side), Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, Color32::WHITE);
    let module = side / modules as f32;
    for y in 0..code.width() {
        for x in 0..code.width() {
            if code.is_dark(x, y) {
                let min = rect.min + vec2((x + 4) as f32 * module, (y + 4) as f32 * module);
                painter.rect_filled(
                    Rect::from_min_size(min, vec2(module, module)),
                    0.0,
                    Color32::BLACK,
                );
            }
        }
    }
    let name = name.to_owned();
    response.widget_info(move || egui::WidgetInfo::labeled(egui::Role::Image, true, &name));
    response
}
