// How a message's files reach targets: bytes for targets that upload, otherwise a link to this
// server — or, when this server only serves files to logged-in users, a label instead of a link
// nobody at the target could open. Decided here, once; adapters only render what they get.

import type { RelayFile } from './message';
import type { OutboundFile } from './adapter';

/** The kind of file a MIME type names, for `image_url`/`audio_url`/`video_url` style fields and labels. */
export function mediaKind(mimeType: string): 'image' | 'audio' | 'video' | 'file' {
    const major = mimeType.split('/')[0].toLowerCase();
    return major === 'image' || major === 'audio' || major === 'video' ? major : 'file';
}

/** NextBridge's text for a file that cannot be linked: `[Image: cat.png]`, `[File: report.pdf]`. */
export function fileLabel(file: { name: string; mimeType: string }): string {
    const kind = mediaKind(file.mimeType);
    return `[${kind.charAt(0).toUpperCase()}${kind.slice(1)}: ${file.name.replace(/[[\]]/g, '')}]`;
}

/**
 * A file as targets get it. `filesPublic`: the server's FileUpload_ProtectFiles is off, so its
 * /file-upload links open for anyone. Otherwise every file carries a label, which a target shows
 * wherever it would have linked the file (a file it uploads needs neither). The label goes on
 * every file, not only on those without bytes: on edits no file has bytes and the adapter decides
 * by size which ones it had uploaded.
 */
export function outboundFile(file: RelayFile, filesPublic: boolean, bytes?: Uint8Array): OutboundFile {
    const out: OutboundFile = { url: file.url, name: file.name, mimeType: file.mimeType, size: file.size };
    if (bytes) {
        out.bytes = bytes;
    }
    if (!filesPublic) {
        out.label = fileLabel(file);
    }
    return out;
}
