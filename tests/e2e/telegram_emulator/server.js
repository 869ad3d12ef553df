// telegram-test-api 4.2.1 wrapped with the fixes python-telegram-bot 22 needs (test fixture).
// Usage: node server.js PORT   -> listens on 127.0.0.1:PORT, prints "listening PORT".
//
// Fixes: getMe gains is_bot; bot message dates in seconds, not milliseconds; callback_query
// updates gain chat_instance and a message with message_id/date; methods that answered null
// answer true; getUpdates honours `timeout` (long polling) and returns injected updates; webhook
// POSTs carry X-Telegram-Bot-Api-Secret-Token and a non-2xx answer is recorded, not a crash;
// added setMyCommands/getMyCommands, sendPhoto/sendDocument (multipart: chat_id and caption).
// Test-only routes under /_test: inject a raw update, read webhook answers, make the next sends
// fail with 429 or 403, read the commands set.
'use strict';
const express = require('express');
const http = require('http');
const axios = require('axios');
const { TelegramServer } = require('telegram-test-api/lib/telegramServer');

const port = Number(process.argv[2] || 9000);
const ts = new TelegramServer({ port, host: '127.0.0.1', storeTimeout: 600 });
const injected = {}; // token -> [raw update]
const webhookLog = []; // {update_id, status}
const failures = []; // [{method, error_code, description, parameters}]
let commands = {}; // token -> commands

const origFormat = TelegramServer.formatUpdate;
TelegramServer.formatUpdate = (update) => {
  const out = origFormat(update);
  if (out.callback_query) {
    const q = out.callback_query;
    q.chat_instance = q.chat_instance || String(q.from && q.from.id);
    const m = q.message || {};
    q.message = { message_id: m.message_id || 1, date: m.date || Math.floor(Date.now() / 1000), ...m };
    if (!q.message.chat) q.message.chat = { id: q.from.id, type: 'private', first_name: 'x' };
    delete q.message.botToken;
  }
  if (out.message) delete out.message.botToken;
  return out;
};

async function deliver(token, raw) {
  const webhook = ts.webhooks[token];
  if (!webhook) {
    (injected[token] = injected[token] || []).push(raw);
    ts.emit('AddedUserMessage');
    return;
  }
  const headers = {};
  if (webhook.secret_token) headers['X-Telegram-Bot-Api-Secret-Token'] = webhook.secret_token;
  try {
    const resp = await axios({ url: webhook.url, method: 'POST', data: raw, headers,
      validateStatus: () => true });
    webhookLog.push({ update_id: raw.update_id, status: resp.status });
  } catch (error) {
    webhookLog.push({ update_id: raw.update_id, status: 0, error: String(error) });
  }
}

// The original POSTs to the webhook without the secret and crashes on a non-2xx answer.
ts.addUserUpdate = async function addUserUpdate(update) {
  if (this.webhooks[update.botToken]) {
    await deliver(update.botToken, TelegramServer.formatUpdate(update));
  } else {
    this.storage.userMessages.push(update);
  }
  this.updateId++;
};

const app = express();
app.use(express.json());
app.use(express.urlencoded({ extended: true }));
const ok = (res, result) => res.json({ ok: true, result });

function failIfAsked(method, res) {
  const i = failures.findIndex((f) => f.method === method || f.method === '*');
  if (i < 0) return false;
  const f = failures.splice(i, 1)[0];
  res.status(f.error_code).json({ ok: false, error_code: f.error_code,
    description: f.description, parameters: f.parameters });
  return true;
}

function botMessage(req, extra) {
  const msg = ts.addBotMessage({ ...req.body, ...extra }, req.params.token);
  msg.date = Math.floor(msg.date / 1000);
  return msg;
}

app.all('/bot:token/getMe', (req, res) => ok(res, {
  id: 666, is_bot: true, first_name: 'Test Bot', username: 'TestNameBot',
}));

app.all('/bot:token/sendMessage', (req, res) => {
  if (failIfAsked('sendMessage', res)) return;
  ok(res, botMessage(req, {}));
});

// PTB uploads files as multipart: chat_id and caption, and each file's name and size.
function multipartFields(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('latin1');
      const fields = {};
      const re = /name="([^"]+)"(?:; filename="([^"]*)")?\r\n(?:[^\r\n]+\r\n)*\r\n([\s\S]*?)\r\n--/g;
      let m;
      while ((m = re.exec(body)) !== null) {
        if (m[2] === undefined) fields[m[1]] = Buffer.from(m[3], 'latin1').toString('utf8');
        else fields[`${m[1]}_file`] = { name: Buffer.from(m[2], 'latin1').toString('utf8'), size: m[3].length };
      }
      resolve(fields);
    });
  });
}

for (const method of ['sendPhoto', 'sendDocument']) {
  app.post(`/bot:token/${method}`, async (req, res) => {
    const fields = req.is('multipart/form-data') ? await multipartFields(req) : req.body;
    if (failIfAsked(method, res)) return;
    req.body = fields;
    ok(res, botMessage(req, { text: fields.caption || '', kind: method }));
  });
}

app.all('/bot:token/getUpdates', (req, res) => {
  const token = req.params.token;
  const timeout = Number((req.body && req.body.timeout) || req.query.timeout || 0);
  const take = () => {
    const updates = ts.getUpdates(token).concat(injected[token] || []);
    injected[token] = [];
    return updates;
  };
  let updates = take();
  if (updates.length || timeout <= 0) return ok(res, updates);
  const done = () => {
    clearTimeout(timer);
    ts.off('AddedUserMessage', done); ts.off('AddedUserCommand', done);
    ts.off('AddedUserCallbackQuery', done);
    setTimeout(() => ok(res, take()), 10);
  };
  const timer = setTimeout(done, Math.min(timeout, 30) * 1000);
  ts.on('AddedUserMessage', done); ts.on('AddedUserCommand', done);
  ts.on('AddedUserCallbackQuery', done);
});

for (const method of ['answerCallbackQuery', 'editMessageReplyMarkup', 'deleteMessage']) {
  app.all(`/bot:token/${method}`, (req, res) => ok(res, true));
}
app.all('/bot:token/editMessageText', (req, res) => {
  ts.editMessageText(req.body);
  ok(res, true);
});
app.all('/bot:token/setWebhook', (req, res) => {
  const hook = req.body.url ? req.body : req.query;
  if (hook.url) ts.setWebhook(hook, req.params.token);
  else ts.deleteWebhook(req.params.token);
  ok(res, true);
});
app.all('/bot:token/setMyCommands', (req, res) => {
  const value = req.body.commands;
  commands[req.params.token] = typeof value === 'string' ? JSON.parse(value) : value;
  ok(res, true);
});
app.all('/bot:token/getMyCommands', (req, res) => ok(res, commands[req.params.token] || []));

app.post('/_test/inject', async (req, res) => {
  await deliver(req.body.token, req.body.update);
  ok(res, true);
});
app.post('/_test/fail', (req, res) => {
  failures.push(req.body);
  ok(res, true);
});
app.get('/_test/webhookLog', (req, res) => ok(res, webhookLog));
app.get('/_test/commands/:token', (req, res) => ok(res, commands[req.params.token] || []));

app.use(ts.webServer);

http.createServer(app).listen(port, '127.0.0.1', () => {
  console.log(`listening ${port}`);
});
