import type { FastifyReply } from 'fastify';

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1b1f23}
main{max-width:26rem;margin:4rem auto;padding:2rem;background:#fff;border:1px solid #d0d7de;border-radius:8px}
h1{font-size:1.4rem;margin:0 0 1rem}
label{display:block;margin:.8rem 0 .2rem;font-weight:600}
input[type=text],input[type=password]{box-sizing:border-box;width:100%;padding:.5rem;font:inherit;border:1px solid #8c959f;border-radius:4px}
input:focus,button:focus{outline:3px solid #0969da;outline-offset:1px}
button{margin-top:1.2rem;padding:.5rem 1.2rem;font:inherit;color:#fff;background:#0b5cad;border:0;border-radius:4px;cursor:pointer}
button.secondary{background:#57606a}
.error{padding:.6rem .8rem;background:#ffebe9;border:1px solid #cf222e;border-radius:4px;color:#82071e}
`;

/**
 * A complete, self-contained HTML page (inline CSS, no scripts). `title` is escaped;
 * `bodyHtml` must already be escaped by the caller.
 */
export function renderPage(title: string, bodyHtml: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} — EUCP Notebook</title><style>${STYLE}</style></head>
<body><main>${bodyHtml}</main></body></html>
`;
}

/** Sends an HTML page with headers that forbid framing, scripts and caching. */
export function sendHtml(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply.status(status)
    .header('Content-Type', 'text/html; charset=utf-8')
    .header('Cache-Control', 'no-store')
    .header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'")
    .header('X-Frame-Options', 'DENY')
    .header('X-Content-Type-Options', 'nosniff')
    .header('Referrer-Policy', 'same-origin')
    .send(html);
}

/** A simple message page (error or information); `message` is escaped. */
export function messagePage(title: string, message: string, link?: { href: string; text: string }): string {
  const a = link ? `<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.text)}</a></p>` : '';
  return renderPage(title, `<h1>${escapeHtml(title)}</h1><p role="alert">${escapeHtml(message)}</p>${a}`);
}
