//! The small inline SVG icons the wall and the call view share (16×16, `currentColor`,
//! hidden from screen readers: the text beside each says what it means).

use yew::prelude::*;

pub fn bell_icon() -> Html {
    html! {
        <svg class="icon" viewBox="0 0 16 16" aria-hidden="true">
            <path d="M8 1.8a4.2 4.2 0 0 0-4.2 4.2v3.1L2.4 11.4h11.2l-1.4-2.3V6A4.2 4.2 0 0 0 8 1.8z" fill="currentColor" />
            <path d="M6.3 12.8a1.8 1.8 0 0 0 3.4 0z" fill="currentColor" />
        </svg>
    }
}

pub fn eye_icon() -> Html {
    html! {
        <svg class="icon" viewBox="0 0 16 16" aria-hidden="true">
            <path d="M1 8s2.6-5 7-5 7 5 7 5-2.6 5-7 5-7-5-7-5z" fill="none" stroke="currentColor" stroke-width="1.5" />
            <circle cx="8" cy="8" r="2.2" fill="currentColor" />
        </svg>
    }
}

pub fn lock_icon() -> Html {
    html! {
        <svg class="icon" viewBox="0 0 16 16" aria-hidden="true">
            <rect x="3" y="7" width="10" height="7" rx="1.5" fill="currentColor" />
            <path d="M5.2 7V5a2.8 2.8 0 0 1 5.6 0v2" fill="none" stroke="currentColor" stroke-width="1.6" />
        </svg>
    }
}
