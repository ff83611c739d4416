// The emoji picker (loaded on demand): a grid of common emoji by category
// with a search by name. Used for the composer and for reactions.
import { useEffect, useRef, useState } from 'preact/hooks';

const GROUPS: [string, string][] = [
  ['Smileys', '😀 grinning,😃 smiley,😄 smile,😁 grin,😆 laughing,😅 sweat smile,🤣 rofl,😂 joy,🙂 slightly smiling,🙃 upside down,😉 wink,😊 blush,😇 innocent,🥰 love,😍 heart eyes,🤩 star struck,😘 kiss,😋 yum,😛 tongue,😜 wink tongue,🤪 zany,🤔 thinking,🤨 raised eyebrow,😐 neutral,😑 expressionless,😶 no mouth,🙄 eye roll,😏 smirk,😬 grimace,😌 relieved,😔 pensive,😪 sleepy,😴 sleeping,😷 mask,🤒 sick,🤯 mind blown,🥳 party,😎 cool,🤓 nerd,😕 confused,😟 worried,😮 open mouth,😲 astonished,😳 flushed,🥺 pleading,😢 cry,😭 sob,😱 scream,😤 triumph,😡 angry,🤬 cursing,😈 devil,💀 skull,💩 poop,🤡 clown,👻 ghost,👽 alien,🤖 robot'],
  ['People', '👍 thumbs up,👎 thumbs down,👌 ok,✌️ victory,🤞 crossed fingers,🤟 love you,🤘 rock,👏 clap,🙌 raised hands,👐 open hands,🤲 palms,🙏 pray thanks,🤝 handshake,👋 wave,💪 muscle,👀 eyes,🧠 brain,👶 baby,🧑 person,👩 woman,👨 man,🧓 older,🙋 raising hand,🤷 shrug,🤦 facepalm,🙇 bow,💃 dance,🕺 dancing,🏃 run'],
  ['Nature', '🐶 dog,🐱 cat,🐭 mouse,🐰 rabbit,🦊 fox,🐻 bear,🐼 panda,🐨 koala,🐯 tiger,🦁 lion,🐮 cow,🐷 pig,🐸 frog,🐵 monkey,🐔 chicken,🐧 penguin,🐦 bird,🦄 unicorn,🐝 bee,🦋 butterfly,🐢 turtle,🐍 snake,🐙 octopus,🐳 whale,🌸 blossom,🌹 rose,🌻 sunflower,🌲 tree,🍀 clover,🍁 maple,🌞 sun,🌙 moon,⭐ star,🔥 fire,🌈 rainbow,☔ rain,❄️ snow,⚡ lightning'],
  ['Food', '🍏 apple,🍌 banana,🍉 watermelon,🍓 strawberry,🍒 cherries,🍑 peach,🍍 pineapple,🥑 avocado,🍅 tomato,🌽 corn,🥕 carrot,🍞 bread,🧀 cheese,🍳 egg,🍔 burger,🍟 fries,🍕 pizza,🌮 taco,🍣 sushi,🍜 noodles,🍩 doughnut,🍪 cookie,🎂 cake,🍫 chocolate,🍿 popcorn,☕ coffee,🍵 tea,🍺 beer,🍷 wine,🥂 cheers'],
  ['Things', '⚽ soccer,🏀 basketball,🎾 tennis,🎮 game,🎲 dice,🎯 target,🎸 guitar,🎵 music,🎉 tada,🎁 gift,🎈 balloon,🏆 trophy,🥇 medal,📱 phone,💻 laptop,⌨️ keyboard,📷 camera,💡 idea,📚 books,✏️ pencil,📌 pin,📎 paperclip,🔒 lock,🔑 key,🔨 hammer,🚀 rocket,✈️ plane,🚗 car,🚲 bike,🏠 house,⏰ alarm,💰 money'],
  ['Symbols', '❤️ heart,🧡 orange heart,💛 yellow heart,💚 green heart,💙 blue heart,💜 purple heart,🖤 black heart,💔 broken heart,💯 hundred,✅ check,❌ cross,❓ question,❗ exclamation,⚠️ warning,💤 zzz,💬 speech,👁️ eye,➕ plus,➖ minus,➡️ right,⬅️ left,🔁 repeat,🆗 ok button,🆕 new,🔴 red circle,🟢 green circle,🔵 blue circle'],
];

const ALL = GROUPS.map(([name, list]) => [name, list.split(',').map((e) => {
  const i = e.indexOf(' ');
  return { emoji: e.slice(0, i), name: e.slice(i + 1) };
})] as const);

export function EmojiPicker({ onPick, onClose, label }: { onPick: (emoji: string) => void; onClose: () => void; label: string }) {
  const [query, setQuery] = useState('');
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.querySelector('input')?.focus();
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    const onDown = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) onClose();
    };
    document.addEventListener('keydown', onKey);
    setTimeout(() => document.addEventListener('mousedown', onDown), 0);
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('mousedown', onDown);
    };
  }, []);
  const q = query.trim().toLowerCase();
  return (
    <div ref={ref} class="picker emoji-picker" role="dialog" aria-label={label}>
      <input name="emoji_search" type="search" aria-label="Search emoji" placeholder="Search emoji" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
      <div class="picker-scroll">
        {ALL.map(([group, list]) => {
          const shown = q ? list.filter((e) => e.name.includes(q)) : list;
          if (shown.length === 0) return null;
          return (
            <section key={group} aria-label={group}>
              <h3>{group}</h3>
              <div class="emoji-grid">
                {shown.map((e) => (
                  <button type="button" key={e.emoji} aria-label={e.name} title={e.name} onClick={() => onPick(e.emoji)}>{e.emoji}</button>
                ))}
              </div>
            </section>
          );
        })}
      </div>
    </div>
  );
}
