import { fitChunksToParts, isRetryableStatus, queryParams, retryAfterMs } from '../../../src/targets/common';
import { response } from './harness';

const NOW = Date.parse('2024-05-01T10:00:00Z');

describe('retryAfterMs', () => {
    it.each([
        ['body seconds win (fractional, rounded up)', {}, 1.2345, 1235],
        ['header seconds', { 'retry-after': '30' }, undefined, 30000],
        ['header HTTP date', { 'retry-after': 'Wed, 01 May 2024 10:00:05 GMT' }, undefined, 5000],
        ['a date in the past means now', { 'retry-after': 'Wed, 01 May 2024 09:00:00 GMT' }, undefined, 0],
        ['garbage header', { 'retry-after': 'soon' }, undefined, undefined],
        ['nothing', {}, undefined, undefined],
        ['negative body value is ignored', { 'retry-after': '2' }, -1, 2000],
    ])('%s', (_name, headers, bodySeconds, expected) => {
        expect(retryAfterMs(response(429, '', headers), bodySeconds, NOW)).toBe(expected);
    });
});

describe('isRetryableStatus', () => {
    it.each([[0, true], [408, true], [429, true], [500, true], [503, true], [400, false], [401, false], [404, false], [410, false]])(
        '%i → %s', (status, retryable) => {
            expect(isRetryableStatus(status)).toBe(retryable);
        });
});

describe('fitChunksToParts', () => {
    it.each([
        ['same count', ['a', 'b'], 2, ['a', 'b']],
        ['fewer chunks: caller deletes the rest', ['a'], 3, ['a']],
        ['more chunks: merged into the last part', ['a', 'b', 'c'], 2, ['a', 'b\nc']],
        ['merged part truncated to the limit', ['aaaa', 'bbbb', 'cccc'], 2, ['aaaa', 'bbbb…']],
        ['no parts: nothing to edit', ['a'], 0, []],
    ])('%s', (_name, chunks, parts, expected) => {
        expect(fitChunksToParts(chunks, parts, 5)).toEqual(expected);
    });
});

describe('queryParams', () => {
    it.each([
        ['x://h/?a=1&b=two%20words', [['a', '1'], ['b', 'two words']]],
        ['x://h/?+X-Key=a+b', [['+X-Key', 'a+b']]],
        ['x://h/?flag&&=empty', [['flag', ''], ['', 'empty']]],
        ['x://h/', []],
    ])('%s', (url, expected) => {
        expect(queryParams(new URL(url))).toEqual(expected);
    });
});
