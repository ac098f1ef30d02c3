// The Content-Disposition of an export (RFC 6266): an ASCII filename for every client, and filename* (RFC 8187) for the real title.

/** Letters and digits, with everything else as single hyphens; accents are dropped, not the letters under them. */
function asciiName(title: string, fallback = "session"): string {
  const ascii = title
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^[-.]+|[-.]+$/g, "");
  return ascii.slice(0, 80).replace(/[-.]+$/, "") || fallback;
}

/** The title as a file name may carry it: no path separators, control or quote characters. */
function unicodeName(title: string, fallback = "session"): string {
  const cleaned = title
    .replace(/[\u0000-\u001f\u007f"\\/:*?<>|]+/g, " ")
    .replace(/\s+/g, " ")
    .trim()
    .replace(/^[-. ]+|[-. ]+$/g, "");
  return Array.from(cleaned).slice(0, 80).join("") || fallback;
}

/** RFC 8187 value-chars: attr-char stays, everything else is percent-encoded UTF-8. */
const encode8187 = (value: string) =>
  encodeURIComponent(value).replace(/['()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);

/** `attachment; filename="<safe-title>-<date>.<ext>"`, plus `filename*` with the title as written when it is not ASCII. */
export function contentDisposition(title: string, at: Date, ext: string): string {
  const date = at.toISOString().slice(0, 10);
  const header = `attachment; filename="${asciiName(title)}-${date}.${ext}"`;
  return /^[\x20-\x7e]*$/.test(title) ? header : `${header}; filename*=UTF-8''${encode8187(`${unicodeName(title)}-${date}.${ext}`)}`;
}

/** `attachment; filename="<safe-name>.<ext>"` (no date: a dataset download is named after the dataset), plus `filename*` when not ASCII. */
export function namedAttachment(name: string, ext: string, fallback = "dataset"): string {
  const header = `attachment; filename="${asciiName(name, fallback)}.${ext}"`;
  return /^[\x20-\x7e]*$/.test(name) ? header : `${header}; filename*=UTF-8''${encode8187(`${unicodeName(name, fallback)}.${ext}`)}`;
}
