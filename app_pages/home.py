import streamlit as st

st.title("BERT Lens")
st.markdown(
    "Look inside **bert-large-cased**: 24 layers, 16 attention heads per layer, 336M parameters, "
    "and the two tasks it was pre-trained on."
)

left, right = st.columns(2)
with left:
    st.subheader("Masked language modelling (MLM)")
    st.markdown(
        "During pre-training, 15% of the words in a text were hidden behind `[MASK]` and the model learned to "
        "guess them from the words on both sides. Give it a sentence with `[MASK]` and it returns a probability "
        "for every one of its 28,996 WordPieces."
    )
    st.page_link("app_pages/fill_mask.py", label="Fill-mask: what goes in the blank?", icon=":material/format_color_text:")
with right:
    st.subheader("Next sentence prediction (NSP)")
    st.markdown(
        "The model also saw pairs of sentences and learned whether the second really followed the first in the "
        "original text. It returns P(IsNext) for any pair."
    )
    st.page_link("app_pages/next_sentence.py", label="Next sentence: does B follow A?", icon=":material/arrow_forward:")

left, right = st.columns(2)
with left:
    st.subheader("Attention")
    st.markdown(
        "Each of the 24 layers has 16 attention heads; each head decides, for every token, how much to look at "
        "every other token. See all 384 heads at once, or any one head in detail."
    )
    st.page_link("app_pages/attention.py", label="Attention: what does each head look at?", icon=":material/hub:")
with right:
    st.subheader("Gender bias")
    st.markdown(
        "The model card warns that bert-large-cased predicts *nurse* for women and *mechanic* for men. Measure "
        "it across occupations and templates, and compare with US labour statistics."
    )
    st.page_link("app_pages/bias_probe.py", label="Gender-bias probe: which jobs for whom?", icon=":material/balance:")

with st.expander("How the model reads text"):
    st.markdown(
        "Text is split into **WordPieces**: common words are one piece, rarer ones several (`firefighter` is "
        "`fire ##fighter`). Every input starts with `[CLS]` and ends with `[SEP]`; a sentence pair has a `[SEP]` "
        "between A and B. The model reads at most 512 pieces. This is the **cased** model: `Paris` and `paris` "
        "are different pieces."
    )
