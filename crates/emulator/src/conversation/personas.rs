//! The customer personas the emulator plays: scripted customer-service conversations in
//! Chinese and English, kept as data.
//!
//! Each persona has an opening line, a pool of middle exchanges (a call uses an ordered
//! subset) and a closing line; every customer line comes with the robot's reply in a
//! customer-service tone. Nine scenarios a language: order delivery, refund, billing
//! dispute, password reset, a complaint escalating to a human, address change, and three
//! awkward callers whose [`Profile`] differs — a silent customer, a one-word answerer and a
//! noisy far-field caller. Also here: the [`Branch`]es on what the robot says, what the
//! customer says when the robot fails to answer, the one-word answers `FilterOneWord`
//! drops, the "I want a human" line any persona may add, how the robot acknowledges an
//! `InvokeLLM` instruction, and [`scripted_reply`]: the robot's line for any customer line
//! (what the emulator's own LLM endpoint answers).
//!
//! What deliberately does not live here: timing and randomness (see `timing` and `script`).

use super::Language;

/// One customer line and the robot's reply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exchange {
    pub customer: &'static str,
    pub robot: &'static str,
}

const fn x(customer: &'static str, robot: &'static str) -> Exchange {
    Exchange { customer, robot }
}

/// A scripted caller with a scenario.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Persona {
    pub scenario: &'static str,
    /// The call always reaches a request for a human / a complaint.
    pub escalates: bool,
    /// How this caller behaves beyond what they say.
    pub profile: &'static Profile,
    pub opening: Exchange,
    pub middle: &'static [Exchange],
    pub closing: Exchange,
}

/// How a caller behaves beyond the words: how much they say, how long they stay quiet,
/// how well ASR hears them. All rates are per call or per sentence, drawn in `script`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Profile {
    /// Sentences in a call, opening and closing included (the upper end is also bounded
    /// by the persona's pool).
    pub sentences: (usize, usize),
    /// Chance of one-word answers before each sentence after the first.
    pub one_word: f64,
    /// At most this many one-word answers in a row.
    pub one_words_max: usize,
    /// Think pauses are multiplied by a factor drawn from this range.
    pub pause_factor: (f64, f64),
    /// Chance the customer hangs up without a closing line.
    pub skips_closing: f64,
    /// Silence (ms, range) the customer keeps after the robot's last reply before hanging
    /// up; `(0, 0)` hangs up at once.
    pub lingers: (u64, u64),
    /// Chance a non-escalating call asks for a human before its closing.
    pub asks_for_human: f64,
    /// Chance a sentence's ASR fails (30100 / 30102), besides the ordinary failures.
    pub asr_failure: f64,
    /// Extra recognition time (ms, range) on top of the ordinary ASR latency.
    pub asr_extra: (u64, u64),
    /// Interim results mishear words (the final result is right).
    pub garbled: bool,
}

/// An ordinary caller: the rates in `script`'s doc.
pub(crate) const ORDINARY: Profile = Profile {
    sentences: (4, 10),
    one_word: 0.12,
    one_words_max: 1,
    pause_factor: (1.0, 1.0),
    skips_closing: 0.0,
    lingers: (0, 0),
    asks_for_human: 0.2,
    asr_failure: 0.0,
    asr_extra: (0, 0),
    garbled: false,
};

/// Long silences, few sentences, often no goodbye: the call ends by the idle timeout.
pub(crate) const SILENT: Profile = Profile {
    sentences: (2, 3),
    one_word: 0.05,
    one_words_max: 1,
    pause_factor: (3.0, 6.0),
    skips_closing: 0.6,
    lingers: (8_000, 20_000),
    asks_for_human: 0.0,
    ..ORDINARY
};

/// Answers mostly with one word (dropped by `FilterOneWord`): few real turns.
pub(crate) const ONE_WORD: Profile =
    Profile { sentences: (2, 4), one_word: 0.95, one_words_max: 4, asks_for_human: 0.0, ..ORDINARY };

/// A caller far from the microphone in a noisy place: ASR errs and is slow, partials
/// are garbled.
pub(crate) const FAR_FIELD: Profile = Profile { asr_failure: 0.18, asr_extra: (300, 1_200), garbled: true, ..ORDINARY };

/// A branch on what the robot says: when its reply contains one of `robot_asks` and the
/// customer's next sentence contains none of `answered_by`, the customer first says
/// `answer` (once a call).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Branch {
    pub robot_asks: &'static [&'static str],
    pub answered_by: &'static [&'static str],
    pub answer: Exchange,
}

/// The branches of a language.
pub(crate) fn branches(language: Language) -> &'static [Branch] {
    match language {
        Language::Zh => ZH_BRANCHES,
        Language::En => EN_BRANCHES,
    }
}

const ZH_BRANCHES: &[Branch] = &[
    Branch {
        robot_asks: &["提供一下订单号", "告诉我订单号"],
        answered_by: &["订单号", "尾号"],
        answer: x("订单号是二零二四一一零八三三七。", "好的，已查到您的订单，我接着为您处理。"),
    },
    Branch {
        robot_asks: &["新的收货地址"],
        answered_by: &["地址是", "号楼"],
        answer: x("新地址是滨江路一百二十号三号楼。", "好的，已记下新地址滨江路一百二十号三号楼。"),
    },
];

const EN_BRANCHES: &[Branch] = &[
    Branch {
        robot_asks: &["your order number"],
        answered_by: &["order number", "it's a", "nine four"],
        answer: x("It's A nine four seven two.", "Thank you, I found your order. Let me take care of it."),
    },
    Branch {
        robot_asks: &["new address"],
        answered_by: &["street", "avenue", "address is"],
        answer: x(
            "The new address is 120 Riverside Avenue, apartment 3.",
            "Got it: 120 Riverside Avenue, apartment 3.",
        ),
    },
];

/// What the customer says after the robot failed to answer: the same sentence again,
/// repeated or with a complaint (`variant` picks which).
pub(crate) fn after_failure(language: Language, variant: usize, sentence: &str) -> String {
    let forms: &[&str] = match language {
        Language::Zh => &["喂？能听到吗？", "怎么没反应了？我再说一遍，", "你们这个系统怎么回事，老是卡住！"],
        Language::En => &["Hello? Can you hear me? ", "You're not answering. Again: ", "Is this thing even working? "],
    };
    format!("{}{sentence}", forms[variant % forms.len()])
}

/// The personas of a language (nine each).
pub(crate) fn of(language: Language) -> &'static [Persona] {
    match language {
        Language::Zh => ZH,
        Language::En => EN,
    }
}

/// Words whose presence in a customer sentence means "get me a human / I complain" — what
/// a supervisor's alert rules look for.
pub(crate) fn human_keywords(language: Language) -> &'static [&'static str] {
    match language {
        Language::Zh => &["转人工", "人工", "投诉", "经理"],
        Language::En => &["human", "complaint", "manager"],
    }
}

/// Whether a customer line asks for a human or complains.
pub(crate) fn asks_for_human(language: Language, text: &str) -> bool {
    let lower = text.to_lowercase();
    human_keywords(language).iter().any(|word| lower.contains(word))
}

/// The request for a human that a non-escalating call sometimes adds before its closing.
pub(crate) fn human_request(language: Language) -> Exchange {
    match language {
        Language::Zh => x("能不能帮我转人工？", "好的，我先帮您把问题记录下来。如果还需要，随时可以为您转接人工客服。"),
        Language::En => x(
            "Can I talk to a human agent, please?",
            "Of course. I've noted your issue, and I can transfer you to a human agent whenever you like.",
        ),
    }
}

/// Single-word answers, dropped by `FilterOneWord` (on by default).
pub(crate) fn one_words(language: Language) -> &'static [&'static str] {
    match language {
        Language::Zh => &["嗯", "好", "对", "行", "哦"],
        Language::En => &["ok", "yes", "yeah", "sure", "right"],
    }
}

/// The robot's scripted answer to an `InvokeLLM` instruction: acknowledge it, then follow it.
pub(crate) fn acknowledge(language: Language, content: &str) -> String {
    let content = content.trim();
    match language {
        Language::Zh if content.is_empty() => "好的，我明白了。".to_owned(),
        Language::Zh => format!("好的，明白了。{}", with_stop(content, "。")),
        Language::En if content.is_empty() => "Understood.".to_owned(),
        Language::En => format!("Understood. {}", with_stop(content, ".")),
    }
}

/// The robot's scripted line for a customer line of any persona in either language —
/// openings, middles, closings, branch answers, the request for a human, and the "after a
/// failure" forms (a line with one of their prefixes). Case, spacing and punctuation do not
/// matter. `None` for a line no script has.
pub(crate) fn scripted_reply(customer: &str) -> Option<(Language, &'static str)> {
    let wanted = normalised(customer);
    if wanted.is_empty() {
        return None;
    }
    let mut best: Option<(usize, Language, &'static str)> = None;
    for language in [Language::Zh, Language::En] {
        for exchange in exchanges(language) {
            let known = normalised(exchange.customer);
            // Exact, or the end of a longer line ("after a failure" forms prefix it).
            let fits = wanted == known || (wanted.ends_with(&known) && known.chars().count() >= 4);
            if fits && best.is_none_or(|(length, _, _)| known.len() > length) {
                best = Some((known.len(), language, exchange.robot));
            }
        }
    }
    best.map(|(_, language, robot)| (language, robot))
}

/// Every exchange of a language's scripts.
fn exchanges(language: Language) -> impl Iterator<Item = Exchange> {
    let personas = of(language).iter().flat_map(|persona| {
        std::iter::once(persona.opening).chain(persona.middle.iter().copied()).chain(std::iter::once(persona.closing))
    });
    personas
        .chain(branches(language).iter().map(|branch| branch.answer))
        .chain(std::iter::once(human_request(language)))
}

/// Lowercase letters and digits only (CJK characters are letters).
fn normalised(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// A reply for a line no script has, in its language.
pub(crate) fn generic_reply(language: Language) -> &'static str {
    match language {
        Language::Zh => "好的，我明白了。请问还有什么可以帮您？",
        Language::En => "I see. Is there anything else I can help you with?",
    }
}

fn with_stop(text: &str, stop: &str) -> String {
    let ends_with_stop = text.chars().last().is_some_and(|c| "。！？.!?".contains(c));
    if ends_with_stop {
        text.to_owned()
    } else {
        format!("{text}{stop}")
    }
}

const ZH: &[Persona] = &[
    Persona {
        scenario: "order delivery",
        escalates: false,
        profile: &ORDINARY,
        opening: x(
            "你好，我昨天下的订单到现在还没送到，能帮我查一下吗？",
            "您好，很抱歉让您久等了。请您提供一下订单号，我马上为您查询。",
        ),
        middle: &[
            x(
                "订单号是二零二四一一零八三三七。",
                "好的，已查到您的订单。包裹目前在同城配送站，预计今天下午六点前送达。",
            ),
            x("为什么这么慢？说好的次日达。", "非常抱歉，近期订单量较大，配送有所延迟。我已经为您加急处理了。"),
            x(
                "那能不能改成送到公司？地址是科技园南区八栋。",
                "可以的，已为您把收货地址改为科技园南区八栋，配送员会提前电话联系您。",
            ),
            x("快递员的电话是多少？", "配送员出发时会通过短信把联系方式发给您，请留意手机短信。"),
            x("如果今天还送不到怎么办？", "如果今天未能送达，您可以申请延误赔付，我们会补偿您一张五元无门槛优惠券。"),
            x(
                "里面是玻璃杯，会不会压坏啊？",
                "请放心，易碎品会单独加固包装。如果签收时发现破损，可以拒收并联系我们处理。",
            ),
        ],
        closing: x("好的，谢谢，那我再等等吧。", "不客气，祝您生活愉快，再见！"),
    },
    Persona {
        scenario: "refund",
        escalates: false,
        profile: &ORDINARY,
        opening: x(
            "我想申请退款，上周买的耳机有杂音。",
            "您好，非常抱歉给您带来不好的体验。请问您是在我们官方商城购买的吗？",
        ),
        middle: &[
            x(
                "对，是在官方商城买的，订单号尾号四五六七。",
                "好的，已查到您的订单。商品还在七天无理由退货期内，可以为您办理退款。",
            ),
            x("退款多久能到账？", "退货商品签收后，退款会在一到三个工作日内原路退回您的支付账户。"),
            x("需要我自己寄回去吗？运费谁出？", "不需要您垫付运费，我们会安排快递上门取件，运费由我们承担。"),
            x("能不能直接换一个新的？", "可以的，如果您更希望换货，我可以把申请改为换货，新耳机会在取件后发出。"),
            x("取件时间能约在明天上午吗？", "好的，已为您预约明天上午九点到十二点上门取件。"),
            x("发票也要一起寄回吗？", "电子发票不需要寄回，纸质发票请和商品一起寄回。"),
        ],
        closing: x("行，那就这样办吧，谢谢你。", "不客气，退款进度可以在订单详情里随时查看，祝您生活愉快！"),
    },
    Persona {
        scenario: "billing dispute",
        escalates: false,
        profile: &ORDINARY,
        opening: x("我这个月的话费怎么多扣了八十块钱？", "您好，我来帮您查一下本月的账单明细，请稍等。"),
        middle: &[
            x("我没有订过什么增值业务啊。", "查询到您本月开通了一项视频会员增值业务，费用是每月二十五元。"),
            x(
                "这个业务我根本不知道，是谁给我开的？",
                "记录显示是本月三号通过短信验证开通的。如果不是您本人操作，我们可以为您核实处理。",
            ),
            x("那多扣的钱能退吗？", "可以为您申请退还本月的增值业务费用，会在下个账单周期抵扣。"),
            x("顺便帮我把这个业务退订了。", "好的，已为您退订该视频会员业务，下个月起不再收费。"),
            x("还有流量费也比平时高。", "您本月超出套餐流量三个G，产生了超额流量费。建议您考虑升级流量套餐。"),
            x("以后开通业务能不能先通知我？", "好的，已为您开启业务变更短信提醒，以后有任何订购都会先通知您。"),
        ],
        closing: x("好吧，那就先这样，谢谢。", "感谢您的耐心，如有其他问题欢迎随时联系我们，再见！"),
    },
    Persona {
        scenario: "password reset",
        escalates: false,
        profile: &ORDINARY,
        opening: x(
            "我的账号登录不上了，一直提示密码错误。",
            "您好，别着急，我来帮您处理。请问账号绑定的手机号还在使用吗？",
        ),
        middle: &[
            x("手机号还在用，尾号是八八六六。", "好的，我已向尾号八八六六的手机发送了验证码，请告诉我收到的六位数字。"),
            x("验证码是三七二九一五。", "验证成功。请在收到的链接中设置新密码，密码需要八位以上并包含字母和数字。"),
            x("我没收到短信怎么办？", "请检查一下短信是否被拦截了，我可以在一分钟后为您重新发送。"),
            x("我的账号会不会被盗了？", "目前没有发现异常登录记录。为了安全起见，建议您重置密码后开启登录保护。"),
            x("登录保护怎么开？", "您可以在账号设置的安全中心里开启登录保护，之后在新设备登录时需要短信验证。"),
        ],
        closing: x("好了，已经能登录了，谢谢。", "太好了，感谢您的配合，祝您使用愉快！"),
    },
    Persona {
        scenario: "complaint escalating to a human",
        escalates: true,
        profile: &ORDINARY,
        opening: x(
            "我已经打了三次电话了，问题一直没解决！",
            "您好，非常抱歉给您带来这么多麻烦。请您告诉我具体是什么问题，我来帮您跟进。",
        ),
        middle: &[
            x(
                "我家宽带断了一个星期了，一直说派人来修，到现在都没人来。",
                "非常抱歉，我查到您的报修单已经超时了，我马上为您催办。",
            ),
            x("你们每次都这么说，根本没用！", "我理解您的心情，这次我会把您的工单标记为加急，并安排专人跟进。"),
            x("我要投诉，你们的服务太差了。", "您的投诉我已经记录下来了，投诉编号会通过短信发送给您。"),
            x("给我转人工，我不想跟机器人说话。", "好的，正在为您转接人工客服，请稍候。"),
            x("让你们经理来跟我说。", "好的，我已经把您的情况升级给值班经理，经理会在三十分钟内给您回电。"),
            x("这一个星期的网费要给我退掉。", "可以的，断网期间的费用会按天为您减免，在下个月账单中抵扣。"),
        ],
        closing: x("行，我等经理电话，再不解决我就去工信部投诉。", "明白，再次向您致歉，我们一定尽快给您答复。"),
    },
    Persona {
        scenario: "address change",
        escalates: false,
        profile: &ORDINARY,
        opening: x(
            "你好，我刚下的单地址填错了，想改一下收货地址。",
            "您好，可以的。请您提供一下订单号，再告诉我新的收货地址。",
        ),
        middle: &[
            x("订单号尾号是三三七。", "好的，已查到您的订单，目前还没有发货，可以修改地址。"),
            x("新地址是滨江路一百二十号三号楼。", "好的，已为您把收货地址改为滨江路一百二十号三号楼。"),
            x("收件人电话也要改一下。", "可以的，请告诉我新的收件人电话，我帮您一起更新。"),
            x("改了地址会不会晚到？", "同城修改地址不影响配送时效，预计后天送达。"),
            x("要是已经发货了还能改吗？", "如果已经发货，我们可以联系快递拦截改派，可能会晚一天送达。"),
        ],
        closing: x("好的，那就麻烦你了。", "不客气，修改结果会短信通知您，祝您生活愉快！"),
    },
    Persona {
        scenario: "silent customer",
        escalates: false,
        profile: &SILENT,
        opening: x("喂……我想问一下我的会员。", "您好，请问您想了解会员的哪方面呢？比如有效期、权益还是续费？"),
        middle: &[
            x("就是……什么时候到期。", "您的会员将在下个月十五号到期，到期前会短信提醒您。"),
            x("自动续费……能关吗？", "可以的，已为您关闭自动续费，到期后不会再扣费。"),
            x("那个……积分呢？", "您目前有一千二百积分，可以在会员中心兑换礼品。"),
        ],
        closing: x("哦……那没事了。", "好的，如有需要欢迎随时联系我们，再见！"),
    },
    Persona {
        scenario: "one-word answerer",
        escalates: false,
        profile: &ONE_WORD,
        opening: x("我的快递显示签收了但我没收到。", "您好，很抱歉。请问是今天显示签收的吗？"),
        middle: &[
            x("今天中午显示的。", "好的，请问您方便看一下门口或者快递柜吗？"),
            x("都看过了没有。", "明白了，我已为您联系快递员核实，半小时内给您回电。"),
            x("那我等电话。", "好的，如果核实后确实丢件，我们会为您补发或退款。"),
        ],
        closing: x("行吧，就这样。", "好的，给您带来不便非常抱歉，再见！"),
    },
    Persona {
        scenario: "noisy far-field caller",
        escalates: false,
        profile: &FAR_FIELD,
        opening: x(
            "喂？我在车上，想改一下明天的维修预约时间。",
            "您好，可以的。请您提供一下订单号，我帮您调整预约时间。",
        ),
        middle: &[
            x("订单号是二零二四一二零三五五。", "好的，已查到您明天上午十点的维修预约。"),
            x("能不能改到后天下午？", "可以的，后天下午两点到四点有空档，为您改到这个时间段可以吗？"),
            x("可以，两点到四点。", "好的，已为您改到后天下午两点到四点，师傅上门前会电话联系您。"),
            x("你说什么？这边信号不好。", "我再说一遍：预约已改到后天下午两点到四点。"),
            x("师傅上门要收费吗？", "保修期内上门和维修都是免费的。"),
        ],
        closing: x("好，知道了，谢谢。", "不客气，祝您一路平安，再见！"),
    },
];

const EN: &[Persona] = &[
    Persona {
        scenario: "order delivery",
        escalates: false,
        profile: &ORDINARY,
        opening: x(
            "Hi, my order was supposed to arrive yesterday and it's still not here.",
            "I'm sorry about the delay. Could you give me your order number so I can look into it?",
        ),
        middle: &[
            x(
                "Sure, it's A nine four seven two.",
                "Thank you. Your package is at the local delivery station and should arrive today before 6 p.m.",
            ),
            x(
                "Why is it so late? I paid for express shipping.",
                "I apologize. We've had a surge in orders this week. I've flagged your package as a priority.",
            ),
            x(
                "Can you deliver it to my office instead?",
                "Of course. Please tell me the office address and I'll update it right away.",
            ),
            x(
                "It's 200 Market Street, fourth floor.",
                "Done. The courier will deliver to 200 Market Street, fourth floor, and call you before arriving.",
            ),
            x(
                "Will I get the express shipping fee back?",
                "Yes. Since the express delivery was late, I've refunded the shipping fee to your original payment.",
            ),
            x(
                "There are glasses inside, will they break?",
                "Fragile items are packed separately. If anything arrives broken, you can refuse it and we'll help.",
            ),
        ],
        closing: x("Great, thanks for your help.", "You're welcome. Have a great day!"),
    },
    Persona {
        scenario: "refund",
        escalates: false,
        profile: &ORDINARY,
        opening: x(
            "I'd like to return the headphones I bought last week, the left side crackles.",
            "I'm sorry to hear that. Did you buy them from our online store?",
        ),
        middle: &[
            x(
                "Yes, the order number ends in 4567.",
                "Thanks, I found it. You're within the 30-day return window, so I can start the refund now.",
            ),
            x(
                "How long does the refund take?",
                "Once we receive the item, the money goes back to your card within three to five business days.",
            ),
            x(
                "Do I have to pay for the return shipping?",
                "No. I'll email you a prepaid return label, so it's free for you.",
            ),
            x(
                "Could I get a replacement instead?",
                "Absolutely. I can switch this to an exchange and ship new headphones once the return is scanned.",
            ),
            x(
                "Can the courier pick it up tomorrow morning?",
                "Sure. I've scheduled a pickup tomorrow between 9 a.m. and noon.",
            ),
        ],
        closing: x(
            "Okay, that works. Thank you.",
            "My pleasure. You can track the refund in your order history. Goodbye!",
        ),
    },
    Persona {
        scenario: "billing dispute",
        escalates: false,
        profile: &ORDINARY,
        opening: x(
            "Why is my bill 80 dollars higher this month?",
            "Let me pull up your billing details. One moment, please.",
        ),
        middle: &[
            x(
                "I never signed up for anything new.",
                "I see a premium video add-on was activated on the 3rd of this month, at 25 dollars a month.",
            ),
            x(
                "I didn't authorize that.",
                "I understand. If you didn't activate it, I can remove it and open a dispute for the charge.",
            ),
            x(
                "Can I get the money back?",
                "Yes. I've requested a credit for the add-on, which will appear on your next statement.",
            ),
            x(
                "There's also a data overage fee.",
                "You used three gigabytes over your plan. An unlimited plan would avoid that in the future.",
            ),
            x(
                "Please notify me before any new charges.",
                "Done. I've turned on text alerts for any plan change or new subscription.",
            ),
        ],
        closing: x("Alright, thanks for sorting it out.", "Thank you for your patience. Have a good day!"),
    },
    Persona {
        scenario: "password reset",
        escalates: false,
        profile: &ORDINARY,
        opening: x(
            "I can't log in to my account, it keeps saying my password is wrong.",
            "I can help with that. Is the phone number on your account still active?",
        ),
        middle: &[
            x(
                "Yes, it ends in 8866.",
                "Great. I've sent a verification code to the number ending in 8866. Could you read it to me?",
            ),
            x(
                "The code is 372915.",
                "Thank you, you're verified. I've sent you a link to set a new password of at least eight characters.",
            ),
            x(
                "I didn't get the text message.",
                "Please check your blocked messages. I can resend the code in one minute.",
            ),
            x(
                "Was my account hacked?",
                "I don't see any unusual sign-ins. To be safe, I recommend turning on two-step verification.",
            ),
            x("How do I turn that on?", "Go to Settings, then Security, and switch on two-step verification."),
        ],
        closing: x("Okay, I'm back in. Thanks.", "Glad to hear it. Have a great day!"),
    },
    Persona {
        scenario: "complaint escalating to a human",
        escalates: true,
        profile: &ORDINARY,
        opening: x(
            "This is the third time I'm calling and nothing has been fixed!",
            "I'm very sorry for the trouble. Please tell me what's going on and I'll follow up personally.",
        ),
        middle: &[
            x(
                "My internet has been down for a week and no technician has shown up.",
                "I apologize. Your repair ticket is overdue, so I'm escalating it right now.",
            ),
            x(
                "You people always say that, it never helps!",
                "I understand your frustration. I've marked the ticket urgent and assigned a dedicated agent.",
            ),
            x(
                "I want to file a complaint about your service.",
                "I've recorded your complaint, and you'll receive the complaint number by text.",
            ),
            x(
                "Just let me talk to a human, please.",
                "Of course. I'm transferring you to a human agent now, please hold.",
            ),
            x(
                "I want to speak to your manager.",
                "I've escalated your case to the duty manager, who will call you back within 30 minutes.",
            ),
            x(
                "And I want a refund for this week.",
                "Certainly. We'll credit the days without service on your next bill.",
            ),
        ],
        closing: x("Fine, I'll wait for the manager's call.", "Thank you, and again, I'm sorry for the inconvenience."),
    },
    Persona {
        scenario: "address change",
        escalates: false,
        profile: &ORDINARY,
        opening: x(
            "Hi, I put the wrong shipping address on my order and need to change it.",
            "No problem. Could you give me your order number and the new address?",
        ),
        middle: &[
            x(
                "The order number ends in 337.",
                "Thanks, I found it. It hasn't shipped yet, so the address can still be changed.",
            ),
            x(
                "The new address is 120 Riverside Avenue, apartment 3.",
                "Done. Your order will now go to 120 Riverside Avenue, apartment 3.",
            ),
            x(
                "The phone number should change too.",
                "Sure, please tell me the new phone number and I'll update it as well.",
            ),
            x("Will this delay the delivery?", "No. A local address change keeps the same delivery date."),
            x("What if it had already shipped?", "Then we'd ask the courier to reroute it, which can add a day."),
        ],
        closing: x("Great, thank you.", "You're welcome. You'll get a text confirming the change. Goodbye!"),
    },
    Persona {
        scenario: "silent customer",
        escalates: false,
        profile: &SILENT,
        opening: x(
            "Hello... I have a question about my membership.",
            "Of course. Would you like to know about the expiry date, benefits, or renewal?",
        ),
        middle: &[
            x("Um... when does it expire?", "Your membership expires on the 15th of next month."),
            x("Can I turn off auto renewal?", "Yes. I've turned off auto renewal, so you won't be charged again."),
            x("And my points?", "You have 1,200 points, which you can redeem in the member center."),
        ],
        closing: x("Oh... okay, never mind.", "Alright. Feel free to call us anytime. Goodbye!"),
    },
    Persona {
        scenario: "one-word answerer",
        escalates: false,
        profile: &ONE_WORD,
        opening: x(
            "My package says delivered but I don't have it.",
            "I'm sorry about that. Did it show as delivered today?",
        ),
        middle: &[
            x("Today at noon.", "Thanks. Could you check your porch or parcel locker?"),
            x(
                "Already checked, nothing.",
                "Understood. I've asked the courier to check and call you within 30 minutes.",
            ),
            x("I'll wait then.", "If the package is lost, we'll resend it or refund you."),
        ],
        closing: x("Fine, that's all.", "Sorry for the trouble. Goodbye!"),
    },
    Persona {
        scenario: "noisy far-field caller",
        escalates: false,
        profile: &FAR_FIELD,
        opening: x(
            "Hello? I'm driving, I need to move tomorrow's repair appointment.",
            "Sure. Could you give me your order number so I can reschedule it?",
        ),
        middle: &[
            x("It's A nine four seven two.", "Thanks. I see a repair visit tomorrow at 10 a.m."),
            x(
                "Can we do the day after, in the afternoon?",
                "Yes, there's a slot from 2 to 4 p.m. the day after tomorrow. Shall I book it?",
            ),
            x("Yes, two to four works.", "Done. The technician will call you before arriving."),
            x(
                "Sorry, what? The signal is bad here.",
                "No problem. Your appointment is now the day after tomorrow, from 2 to 4 p.m.",
            ),
            x("Is the visit free?", "Yes. Visits and repairs are free while you're under warranty."),
        ],
        closing: x("Okay, got it, thanks.", "You're welcome. Drive safely, goodbye!"),
    },
];

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_customer_line_of_every_script_finds_its_robot_line() {
        for language in [Language::Zh, Language::En] {
            for exchange in exchanges(language) {
                let found = scripted_reply(exchange.customer);
                assert!(found.is_some(), "{:?} has no scripted reply", exchange.customer);
                let (found_language, _) = found.unwrap();
                assert_eq!(found_language, language, "{:?}", exchange.customer);
            }
        }
        assert_eq!(
            scripted_reply("我想申请退款，上周买的耳机有杂音。"),
            Some((Language::Zh, "您好，非常抱歉给您带来不好的体验。请问您是在我们官方商城购买的吗？"))
        );
    }

    #[test]
    fn case_punctuation_and_after_failure_prefixes_do_not_hide_a_line() {
        let line = "Why is my bill 80 dollars higher this month?";
        let expected = Some((Language::En, "Let me pull up your billing details. One moment, please."));
        assert_eq!(scripted_reply("  why is my bill 80 dollars higher this month "), expected);
        for variant in 0..3 {
            assert_eq!(scripted_reply(&after_failure(Language::En, variant, line)), expected, "variant {variant}");
            let zh = after_failure(Language::Zh, variant, "我的账号登录不上了，一直提示密码错误。");
            assert_eq!(
                scripted_reply(&zh).map(|(_, robot)| robot),
                Some("您好，别着急，我来帮您处理。请问账号绑定的手机号还在使用吗？"),
                "{zh}"
            );
        }
    }

    #[test]
    fn branch_answers_and_the_human_request_are_found_and_strangers_are_not() {
        assert_eq!(scripted_reply("It's A nine four seven two.").map(|(l, _)| l), Some(Language::En));
        assert_eq!(scripted_reply("能不能帮我转人工？").map(|(_, r)| r), Some(human_request(Language::Zh).robot));
        assert_eq!(scripted_reply("What's the weather on Mars?"), None);
        assert_eq!(scripted_reply("?!"), None);
    }
}
