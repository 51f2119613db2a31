import { teamsTarget } from '../../../src/targets/teams';
import { file, makeInput, outcome, response, view } from './harness';

const FLOW = 'https://prod-161.westeurope.logic.azure.com:443/workflows/643e69f83c8944438d68119179a10a64/triggers/manual/paths/invoke'
    + '?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=KODuebWbDGYFr0z0eu-6Rj8aUKz7108W3wrNJZxFE5A';
const raw = { webhook_url: FLOW };
const JSON_HEADERS = { 'Content-Type': 'application/json' };
const avatar = { type: 'Column', width: 'auto', items: [{ type: 'Image', url: 'https://cdn.example.com/alice.png', style: 'Person', size: 'Small', altText: 'Alice' }] };
const name = (alias = 'Alice') => ({
    type: 'Column', width: 'stretch', verticalContentAlignment: 'Center', items: [{ type: 'TextBlock', text: alias, weight: 'Bolder', wrap: true }],
});
const header = { type: 'ColumnSet', columns: [avatar, name()] };
const text = (value: string) => ({ type: 'TextBlock', text: value, wrap: true });
const card = (body: unknown[]) => ({
    method: 'POST', url: FLOW, headers: JSON_HEADERS,
    json: {
        type: 'message',
        attachments: [{
            contentType: 'application/vnd.microsoft.card.adaptive',
            contentUrl: null,
            content: { $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4', body },
        }],
    },
});
const long = `${'a'.repeat(6000)}\n\n${'b'.repeat(6000)}`;

describe('teams target: requests', () => {
    it.each([
        ['sent: header with avatar and name, then the text', {}, [card([header, text('hello **world**')])]],
        ['no avatar: the name alone', { rendered: { avatarUrl: undefined } }, [card([{ type: 'ColumnSet', columns: [name()] }, text('hello **world**')])]],
        ['mentions neutralised', { rendered: { text: '@everyone look' } }, [card([header, text('@\u200Beveryone look')])]],
        [
            'files as links on the last card',
            { rendered: { text: long }, files: [file('cat.png', 'image/png', false)] },
            [
                card([header, text('a'.repeat(6000))]),
                card([header, text('b'.repeat(6000)), text('[cat.png](https://chat.example.com/file-upload/cat.png)')]),
            ],
        ],
        [
            'file only',
            { rendered: { text: '' }, files: [file('a.txt', 'text/plain', false)] },
            [card([header, text('[a.txt](https://chat.example.com/file-upload/a.txt)')])],
        ],
        ['thread reply: an ordinary card', { message: { threadId: 'P' } }, [card([header, text('hello **world**')])]],
        ['nothing to send', { rendered: { text: '' } }, []],
        ['edited: nothing (no message ids)', { message: { event: 'edited' as const }, remoteIds: ['x'] }, []],
        ['deleted: nothing (no message ids)', { message: { event: 'deleted' as const }, remoteIds: ['x'] }, []],
    ])('%s', (_name, options, expected) => {
        const input = makeInput(teamsTarget, raw, options);
        expect(teamsTarget.buildRequests(input).map(view)).toEqual(expected);
    });
});

describe('teams target: responses', () => {
    const input = makeInput(teamsTarget, raw);
    const request = { method: 'POST' as const, url: FLOW, headers: {} };
    it.each([
        ['202 Accepted', response(202), {}],
        [
            'flow error',
            response(400, { error: { code: 'InvalidRequestContent', message: 'The input body for trigger manual of type Request must be of type JSON.' } }),
            {
                error: 'TargetError', status: 400, retryable: false,
                message: 'Teams workflow answered 400: The input body for trigger manual of type Request must be of type JSON. [InvalidRequestContent]',
            },
        ],
        [
            'throttled',
            response(429, { error: { code: 'WorkflowTriggerIsThrottled', message: 'slow down' } }, { 'retry-after': '7' }),
            { error: 'TargetError', message: 'Teams workflow answered 429: slow down [WorkflowTriggerIsThrottled]', status: 429, retryable: true, retryAfterMs: 7000 },
        ],
    ])('%s', (_name, result, expected) => {
        expect(outcome(() => teamsTarget.readResponse(input, request, result))).toEqual(expected);
    });
});

describe('teams target: config', () => {
    it.each([
        [{}, 'webhook_url: is required'],
        [{ webhook_url: 'http://prod-1.logic.azure.com/workflows/x' }, 'webhook_url: must be an https URL (http only for localhost or 127.0.0.1)'],
    ])('%j → %s', (config, message) => {
        expect(() => teamsTarget.parseConfig(config)).toThrow(message);
    });

    it('describe shows the host, not the signature', () => {
        expect(teamsTarget.describe(teamsTarget.parseConfig(raw))).toBe('teams workflow https://prod-161.westeurope.logic.azure.com:443');
    });
});
