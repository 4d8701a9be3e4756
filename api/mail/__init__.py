"""Mail to members: rendering (Jinja2 templates, escaped), the calendar attachment, building the
MIME message, and sending it over SMTP with retries.

The contract the digest and forwarding services rely on:

- `render_digest(member, items, *, unsubscribe_url, intro="") -> RenderedMail` and
  `render_forward(member, item, *, unsubscribe_url, note="") -> RenderedMail`: subject, text,
  HTML and ICS (one VEVENT per deadline), from untrusted member and call text;
- `build_message(rendered, *, sender, recipient, message_id, unsubscribe_url) -> EmailMessage`:
  multipart/alternative text + HTML, the ICS attached, List-Unsubscribe headers;
- `SmtpSender(settings).send(message)`: one delivery attempt; raises `MailUnavailable` when the
  server cannot be reached or refuses temporarily, `MailRejected` when it refuses for good.
"""
