import { describe, expect, it } from 'vitest';
import { applyReaction, applyReceipt, deliveryMark, fromCreated, mergeMessage } from './apply';
import { CONVERSATION_CREATED, ME, message } from './testing/fakes';

const conv = () => fromCreated(CONVERSATION_CREATED.conversation as never, ME.id);

describe('delivery marks', () => {
  it('go from sent to delivered to read as the other member\'s marks move, never back', () => {
    let c = conv();
    const mine = message(1, 3, { sender_id: ME.id });
    expect(deliveryMark(c, mine, ME.id)).toBe('sent');
    c = applyReceipt(c, 2, 3, 'delivered', ME.id);
    expect(deliveryMark(c, mine, ME.id)).toBe('delivered');
    c = applyReceipt(c, 2, 3, 'read', ME.id);
    expect(deliveryMark(c, mine, ME.id)).toBe('read');
    c = applyReceipt(c, 2, 1, 'read', ME.id);
    expect(deliveryMark(c, mine, ME.id)).toBe('read');
  });
});

describe('reactions', () => {
  it('are a set per emoji: adding twice or removing a missing one changes nothing', () => {
    const m = message(1, 1);
    const once = applyReaction(m, '👍', 2, true);
    expect(applyReaction(once, '👍', 2, true)).toBe(once);
    expect(applyReaction(m, '👍', 3, false)).toBe(m);
    expect(applyReaction(once, '👍', 2, false).reactions).toEqual([]);
  });
});

describe('mergeMessage', () => {
  it('keeps a newer edit over an older copy and never undeletes', () => {
    const edited = message(1, 1, { text: 'v2', edited_at: 20 });
    expect(mergeMessage(edited, message(1, 1, { text: 'v1', edited_at: 10 })).text).toBe('v2');
    const tomb = message(1, 1, { text: '', deleted: true });
    expect(mergeMessage(tomb, message(1, 1)).deleted).toBe(true);
  });
});
