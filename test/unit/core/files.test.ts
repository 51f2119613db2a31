import { fileLabel, outboundFile } from '../../../src/core/files';
import type { RelayFile } from '../../../src/core/message';
import { fileMarkdown } from '../../../src/targets/common';

const file = (name: string, mimeType: string): RelayFile => ({ url: `https://chat.example.com/file-upload/F1/${encodeURIComponent(name)}`, name, mimeType, size: 5, uploadId: 'F1' });

describe('fileLabel (NextBridge: `[Type: filename]`)', () => {
    it.each([
        ['cat.png', 'image/png', '[Image: cat.png]'],
        ['talk.ogg', 'audio/ogg', '[Audio: talk.ogg]'],
        ['clip.mp4', 'video/mp4', '[Video: clip.mp4]'],
        ['report [final].pdf', 'application/pdf', '[File: report final.pdf]'],
    ])('%s (%s) → %s', (name, mimeType, label) => expect(fileLabel({ name, mimeType })).toBe(label));
});

describe('outboundFile: link or label, decided once', () => {
    it('links files while the server serves them to anyone', () => {
        const out = outboundFile(file('a.txt', 'text/plain'), true);
        expect(out).toEqual({ url: file('a.txt', 'text/plain').url, name: 'a.txt', mimeType: 'text/plain', size: 5 });
        expect(fileMarkdown(out)).toBe('[a.txt](https://chat.example.com/file-upload/F1/a.txt)');
    });

    it('labels every file while files are protected, bytes or not (edits carry none and adapters judge by size)', () => {
        const bytes = new Uint8Array([1, 2]);
        expect(outboundFile(file('a.txt', 'text/plain'), false, bytes)).toMatchObject({ bytes, label: '[File: a.txt]' });
        const labelled = outboundFile(file('cat.png', 'image/png'), false);
        expect(labelled.label).toBe('[Image: cat.png]');
        expect(fileMarkdown(labelled)).toBe('[Image: cat.png]');
    });
});
