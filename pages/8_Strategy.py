import ui

s = ui.page_setup("8_Strategy")
import streamlit as st
st.title("8_Strategy")
f = ui.filters()
st.write(f)
