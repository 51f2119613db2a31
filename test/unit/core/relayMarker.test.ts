import { loopRefusal, markerFromMessageId, markerMessageId } from '../../../src/core/relayMarker';

describe('relay marker in a message id', () => {
    const unique = 'ABCDEFGHJKLMNPQRS';

    it('carries the origin server and one more hop, and reads back', () => {
        const id = markerMessageId({ server: 'rb-abc123', hops: 0 }, unique);
        expect(id).toBe('rbm_1_rb-abc123_ABCDEFGHJKLMNPQRS');
        expect(markerFromMessageId(id)).toEqual({ server: 'rb-abc123', hops: 1 });
    });

    it.each([
        ['an ordinary Rocket.Chat id', 'gvEjKctTMENnheS6m'],
        ['a prefix alone', 'rbm_1_rb-x'],
        ['a slash (it would break remote ids)', 'rbm_1_rb/x_ABCDEFGHJKLMNPQRS'],
        ['a short unique part', 'rbm_1_rb-x_ABC'],
        ['nothing', undefined],
    ])('reads no marker from %s', (_name, id) => {
        expect(markerFromMessageId(id)).toBeUndefined();
    });

    it('leaves out a server id the format cannot hold (the request then goes without a marked id)', () => {
        expect(markerMessageId({ server: 'rb x/y', hops: 0 }, unique)).toBeUndefined();
    });

    it('is refused where it started and past the hop limit, like the headers', () => {
        expect(loopRefusal(markerFromMessageId('rbm_2_rb-home_ABCDEFGHJKLMNPQRS'), 'rb-home')).toMatch(/started on this server/);
        expect(loopRefusal(markerFromMessageId('rbm_5_rb-away_ABCDEFGHJKLMNPQRS'), 'rb-home')).toMatch(/passed 5 relays/);
        expect(loopRefusal(markerFromMessageId('rbm_1_rb-away_ABCDEFGHJKLMNPQRS'), 'rb-home')).toBeUndefined();
    });
});
