//! The open conversation: its header, the key-change banner, the messages (only those in
//! view are laid out), uploads under way and the composer.

use eframe::egui::{self, Align, Color32, CornerRadius, Layout, RichText, Sense, Stroke, vec2};
use std::collections::HashMap;

use sotto_core::client::{HistoryMessage, HistoryStatus};
use sotto_core::content::{Body, MessageId};
use sotto_core::messenger::DeliveryStatus;
use sotto_core::store::MessageDirection;

use super::{Action, day_of, duration, size, time_of_day};
use crate::session::{Picture, Session, contact_name};

/// How close to the top (in points) scrolling loads the page before.
const LOAD_MARGIN: f32 = 300.0;

/// Draws the conversation of the selected contact.
pub fn show(ui: &mut egui::Ui, session: &mut Session, actions: &mut Vec<Action>) {
    let Some(row) = session.selected_row().cloned() else {
        ui.centered_and_justified(|ui| {
            ui.label(if session.contacts.is_empty() {
                "Invite someone to start talking, or accept their invitation."
            } else {
                "Choose a contact."
            });
        });
        return;
    };
    let contact = row.contact.clone();
    ui.horizontal(|ui| {
        match &mut session.renaming {
            Some(name) => {
                let label = ui.label("New name");
                let field = ui
                    .add(egui::TextEdit::singleline(name).desired_width(200.0))
                    .labelled_by(label.id);
                let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                if ui.button("Save name").clicked() || enter {
                    let name = Some(name.trim().to_owned()).filter(|n| !n.is_empty());
                    actions.push(Action::Rename(contact.id.clone(), name));
                    session.renaming = None;
                } else if ui.button("Cancel").clicked() {
                    session.renaming = None;
                }
            }
            None => {
                ui.heading(contact_name(&contact));
                if ui.small_button("Rename").clicked() {
                    session.renaming = Some(contact.display_name.clone().unwrap_or_default());
                }
            }
        }
        if contact.verified {
            ui.label(RichText::new("✔ Verified").color(Color32::from_rgb(40, 150, 70)));
        }
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            if ui.button("Safety number").clicked() {
                actions.push(Action::Safety(contact.id.clone()));
            }
        });
    });
    if contact.pending_identity.is_some() {
        egui::Frame::new()
            .fill(Color32::from_rgb(255, 236, 200))
            .inner_margin(8.0)
            .corner_radius(6.0)
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.label(
                        RichText::new(format!(
                            "{}'s security key changed. They may have reinstalled Sotto, or \
                             someone may be in the middle. Messages to them wait until you \
                             accept the new key; compare safety numbers first.",
                            contact_name(&contact)
                        ))
                        .color(Color32::from_rgb(90, 50, 0)),
                    );
                    if ui.button("Accept new key").clicked() {
                        actions.push(Action::AcceptKey(contact.id.clone()));
                    }
                    if ui.button("Compare safety numbers").clicked() {
                        actions.push(Action::Safety(contact.id.clone()));
                    }
                });
            });
    }
    ui.separator();
    egui::Panel::bottom("composer")
        .show_separator_line(true)
        .show(ui, |ui| composer(ui, session, actions));
    egui::CentralPanel::default().show(ui, |ui| messages(ui, session, actions));
}

fn messages(ui: &mut egui::Ui, session: &mut Session, actions: &mut Vec<Action>) {
    let Some(timeline) = &mut session.timeline else {
        ui.centered_and_justified(|ui| ui.spinner());
        return;
    };
    let contact = timeline.contact.clone();
    let mut area = egui::ScrollArea::vertical()
        .id_salt(("timeline", contact.as_str()))
        .stick_to_bottom(true)
        .auto_shrink([false, false]);
    if let Some(place) = timeline.scroll_to.take() {
        area = area.vertical_scroll_offset(place);
    } else if timeline.scroll_shift > 0.0 {
        let offset = ui
            .ctx()
            .data(|d| d.get_temp::<f32>(egui::Id::unique("timeline-offset")))
            .unwrap_or(0.0);
        area = area.vertical_scroll_offset(offset + timeline.scroll_shift);
        timeline.scroll_shift = 0.0;
    }
    let mut shown = Shown {
        statuses: &session.statuses,
        pictures: &session.pictures,
        downloads: &session.downloads,
        previews: &mut session.previews,
        contact: &contact,
        playing: session.playing.map(|(id, _)| id),
    };
    let output = area.show_viewport(ui, |ui, viewport| {
        let width = ui.available_width();
        let total = timeline.total_height();
        let (space, _) =
            ui.allocate_exact_size(vec2(width, total.max(viewport.height())), Sense::hover());
        if !timeline.complete && viewport.min.y < LOAD_MARGIN {
            actions.push(Action::LoadOlder);
        }
        let mut top = 0.0;
        let mut previous_day = String::new();
        for index in 0..timeline.messages.len() {
            let height = timeline.heights[index];
            let visible = top + height >= viewport.min.y && top <= viewport.max.y;
            if visible {
                let message = &timeline.messages[index];
                let day = day_of(message.at);
                let first_of_day = index == 0 || {
                    if previous_day.is_empty() {
                        previous_day = day_of(timeline.messages[index - 1].at);
                    }
                    previous_day != day
                };
                let rect =
                    egui::Rect::from_min_size(space.min + vec2(0.0, top), vec2(width, height));
                // Ids from the message, not from the rows above it in view: a button keeps
                // its id while the view scrolls (a click, or an AccessKit action, lands).
                let mut row = ui.new_child(
                    egui::UiBuilder::new()
                        .scope_id(egui::Id::unique((
                            "message",
                            contact.as_str(),
                            message.content.id,
                        )))
                        .max_rect(rect)
                        .layout(Layout::top_down(Align::Min)),
                );
                if first_of_day {
                    row.vertical_centered(|ui| {
                        ui.add_space(6.0);
                        ui.label(RichText::new(&day).small().weak());
                    });
                }
                bubble(&mut row, message, &mut shown, actions);
                row.add_space(6.0);
                let used = row.min_rect().height();
                if (used - height).abs() > 0.5 {
                    timeline.heights[index] = used;
                    ui.ctx().request_repaint();
                }
                previous_day = day;
            } else {
                previous_day.clear();
            }
            top += height;
        }
    });
    ui.ctx().data_mut(|d| {
        d.insert_temp(
            egui::Id::unique("timeline-offset"),
            output.state.clamped_offset().y,
        )
    });
    for upload in session.uploads.iter().filter(|u| u.contact == contact) {
        ui.horizontal(|ui| {
            let name = upload.source.label();
            if upload.failed {
                ui.colored_label(ui.visuals().error_fg_color, format!("{name}: not sent"));
                if ui.button("Retry").clicked() {
                    actions.push(Action::Retry(upload.id));
                }
            } else {
                let (done, total) = upload.progress;
                let fraction = if total == 0 {
                    0.0
                } else {
                    done as f32 / total as f32
                };
                ui.label(format!("Sending {name}"));
                ui.add(
                    egui::ProgressBar::new(fraction)
                        .show_percentage()
                        .desired_width(200.0),
                );
            }
        });
    }
}

/// What a message of ours shows as its status.
fn status_text(
    message: &HistoryMessage,
    statuses: &std::collections::HashMap<MessageId, DeliveryStatus>,
) -> &'static str {
    let from_store = match message.shown_status() {
        HistoryStatus::Sending => DeliveryStatus::Sending,
        HistoryStatus::Sent => DeliveryStatus::Sent,
        HistoryStatus::Delivered => DeliveryStatus::Delivered,
        HistoryStatus::Read | HistoryStatus::Received => DeliveryStatus::Read,
    };
    let rank = |s: DeliveryStatus| match s {
        DeliveryStatus::Sending => 0,
        DeliveryStatus::Sent => 1,
        DeliveryStatus::Delivered => 2,
        DeliveryStatus::Read => 3,
        DeliveryStatus::Failed => 4,
    };
    // Events may be newer than the page; statuses only move forward.
    let status = match statuses.get(&message.content.id) {
        Some(event) if rank(*event) > rank(from_store) => *event,
        _ => from_store,
    };
    match status {
        DeliveryStatus::Sending => "Sending…",
        DeliveryStatus::Sent => "Sent",
        DeliveryStatus::Delivered => "Delivered",
        DeliveryStatus::Read => "Read",
        DeliveryStatus::Failed => "Failed",
    }
}

/// What the bubbles of one frame read besides their message.
struct Shown<'a> {
    statuses: &'a HashMap<MessageId, DeliveryStatus>,
    pictures: &'a HashMap<MessageId, Picture>,
    downloads: &'a HashMap<MessageId, (u64, u64)>,
    previews: &'a mut HashMap<MessageId, Option<egui::TextureHandle>>,
    contact: &'a sotto_core::contacts::ContactId,
    playing: Option<MessageId>,
}

/// A picture's preview (the small JPEG in its message), decoded once; `None` when it
/// cannot be decoded (it is the sender's data: a bad one shows no preview, nothing else).
fn preview(
    ctx: &egui::Context,
    previews: &mut HashMap<MessageId, Option<egui::TextureHandle>>,
    id: MessageId,
    jpeg: &[u8],
) -> Option<egui::TextureHandle> {
    previews
        .entry(id)
        .or_insert_with(|| {
            let decoded =
                image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg).ok()?;
            let rgba = decoded.to_rgba8();
            let size = [rgba.width() as usize, rgba.height() as usize];
            let image = egui::ColorImage::from_rgba_unmultiplied(size, rgba.as_raw());
            Some(ctx.load_texture(format!("preview-{id}"), image, egui::TextureOptions::LINEAR))
        })
        .clone()
}

fn bubble(
    ui: &mut egui::Ui,
    message: &HistoryMessage,
    shown: &mut Shown<'_>,
    actions: &mut Vec<Action>,
) {
    let (statuses, pictures, downloads, contact) = (
        shown.statuses,
        shown.pictures,
        shown.downloads,
        shown.contact,
    );
    let ours = message.direction == MessageDirection::Outgoing;
    let layout = if ours {
        Layout::top_down(Align::Max)
    } else {
        Layout::top_down(Align::Min)
    };
    ui.with_layout(layout, |ui| {
        let max = (ui.available_width() * 0.7).max(200.0);
        let fill = if ours {
            ui.visuals().selection.bg_fill
        } else {
            ui.visuals().faint_bg_color
        };
        egui::Frame::new()
            .fill(fill)
            .stroke(Stroke::new(
                1.0,
                ui.visuals().widgets.noninteractive.bg_stroke.color,
            ))
            .corner_radius(CornerRadius::same(10))
            .inner_margin(8.0)
            .show(ui, |ui| {
                ui.set_max_width(max);
                if ours && ui.visuals().dark_mode {
                    ui.visuals_mut().override_text_color = Some(Color32::from_gray(235));
                }
                let id = message.content.id;
                match &message.content.body {
                    Body::Text(text) => {
                        ui.add(egui::Label::new(text.as_str()).wrap());
                    }
                    Body::Image(image) => {
                        match pictures.get(&id) {
                            Some(Picture::Ready(texture)) => {
                                let size = texture.size_vec2();
                                let scale = (240.0 / size.x.max(size.y)).min(1.0);
                                ui.add(egui::Image::new(texture).fit_to_exact_size(size * scale))
                                    .on_hover_text(format!(
                                        "Picture, {} × {}",
                                        image.width, image.height
                                    ));
                            }
                            Some(Picture::Loading) => {
                                ui.horizontal(|ui| {
                                    ui.spinner();
                                    ui.label("Loading picture…");
                                });
                            }
                            Some(Picture::Failed(why)) => {
                                ui.colored_label(ui.visuals().error_fg_color, why);
                            }
                            None => {
                                let hint = (!image.thumbnail.is_empty())
                                    .then(|| {
                                        preview(ui.ctx(), shown.previews, id, &image.thumbnail)
                                    })
                                    .flatten();
                                if let Some(texture) = hint {
                                    // The preview, stretched to the picture's shape.
                                    let (w, h) =
                                        (image.width.max(1) as f32, image.height.max(1) as f32);
                                    let scale = 240.0 / w.max(h);
                                    ui.add(
                                        egui::Image::new(&texture)
                                            .fit_to_exact_size(egui::vec2(w * scale, h * scale)),
                                    );
                                }
                                ui.label(format!("Picture, {} × {}", image.width, image.height));
                            }
                        }
                        // Ours were sent from a file the user has; theirs are fetched.
                        if !ours {
                            ui.horizontal(|ui| {
                                if !pictures.contains_key(&id)
                                    && ui.button("Show picture").clicked()
                                {
                                    actions.push(Action::ShowPicture(contact.clone(), id));
                                }
                                if ui.button("Save picture…").clicked() {
                                    let extension =
                                        image.mime.strip_prefix("image/").unwrap_or("img");
                                    actions.push(Action::Save(
                                        contact.clone(),
                                        id,
                                        format!("picture.{extension}"),
                                    ));
                                }
                            });
                        }
                    }
                    Body::File(file) => {
                        ui.label(RichText::new(format!("📄 {}", file.name)).strong());
                        ui.label(format!("{} · {}", size(file.size), file.mime));
                        if !ours && ui.small_button("Save file…").clicked() {
                            actions.push(Action::Save(contact.clone(), id, file.name.clone()));
                        }
                    }
                    Body::VoiceClip(clip) => {
                        ui.horizontal(|ui| {
                            if ours {
                                // Sent from memory: nothing to fetch back.
                            } else if shown.playing == Some(id) {
                                if ui.button("⏹ Stop").clicked() {
                                    actions.push(Action::StopPlaying);
                                }
                            } else if ui.button("▶ Play").clicked() {
                                actions.push(Action::Play(contact.clone(), id));
                            }
                            ui.label(format!("🎤 Voice clip {}", duration(clip.duration_ms)));
                            waveform(ui, &clip.waveform);
                        });
                        if !ours && ui.small_button("Save voice clip…").clicked() {
                            actions.push(Action::Save(
                                contact.clone(),
                                id,
                                "voice-clip.ogg".into(),
                            ));
                        }
                    }
                    Body::Receipt(_) | Body::ContactAccept(_) => {}
                }
                if let Some((done, total)) = downloads.get(&id) {
                    let fraction = if *total == 0 {
                        0.0
                    } else {
                        *done as f32 / *total as f32
                    };
                    ui.add(
                        egui::ProgressBar::new(fraction)
                            .show_percentage()
                            .desired_width(160.0),
                    );
                }
                let mut meta = time_of_day(message.at);
                if ours {
                    meta.push_str(" · ");
                    meta.push_str(status_text(message, statuses));
                }
                ui.label(RichText::new(meta).small().weak());
            });
    });
}

/// A voice clip's loudness as bars.
fn waveform(ui: &mut egui::Ui, bars: &[u8]) {
    let (rect, _) = ui.allocate_exact_size(vec2(128.0, 22.0), Sense::hover());
    if bars.is_empty() {
        return;
    }
    let painter = ui.painter_at(rect);
    let step = rect.width() / bars.len() as f32;
    let color = ui.visuals().strong_text_color();
    for (i, bar) in bars.iter().enumerate() {
        let height = (f32::from(*bar) / 255.0 * rect.height()).max(1.0);
        let x = rect.min.x + i as f32 * step;
        painter.rect_filled(
            egui::Rect::from_min_max(
                egui::pos2(x, rect.center().y - height / 2.0),
                egui::pos2(x + (step - 1.0).max(1.0), rect.center().y + height / 2.0),
            ),
            0.0,
            color,
        );
    }
}

fn composer(ui: &mut egui::Ui, session: &mut Session, actions: &mut Vec<Action>) {
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        if ui.button("📎 File").on_hover_text("Send a file").clicked() {
            actions.push(Action::Attach { images: false });
        }
        if ui
            .button("🖼 Picture")
            .on_hover_text("Send a picture")
            .clicked()
        {
            actions.push(Action::Attach { images: true });
        }
        let record = if session.recording {
            "⏹ Stop and send"
        } else {
            "🎤 Voice"
        };
        if ui
            .button(record)
            .on_hover_text(if session.recording {
                "Stop recording and send the clip"
            } else {
                "Record a voice clip"
            })
            .clicked()
        {
            actions.push(Action::ToggleRecording);
        }
        let send_width = 64.0;
        let edit = egui::TextEdit::multiline(&mut session.compose)
            .id(egui::Id::unique("composer"))
            .hint_text("Write a message (Enter sends, Shift+Enter for a new line)")
            .desired_rows(1)
            .desired_width(ui.available_width() - send_width)
            .return_key(egui::KeyboardShortcut::new(
                egui::Modifiers::SHIFT,
                egui::Key::Enter,
            ));
        let response = ui.add(edit);
        let response = response.on_hover_text("Message");
        let enter = response.has_focus()
            && ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Enter));
        if ui.button("Send").clicked() || enter {
            actions.push(Action::Send);
            response.request_focus();
        }
    });
    ui.add_space(4.0);
}
