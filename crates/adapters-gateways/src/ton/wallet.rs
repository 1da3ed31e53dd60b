//! The marketplace's wallet: its key (from `TON_WALLET_MNEMONIC`), its contract version (v4r2 or
//! v5r1) and its signed transfers, built with `tonlib-core` (no hand-made BOC). No I/O.

use std::str::FromStr;
use std::sync::Arc;

use base64::Engine;
use domain::ports::{SignError, SignedTransfer, TransferSigner, TransferToSign};
use num_bigint::BigUint;
use tonlib_core::cell::{BagOfCells, Cell, CellBuilder};
use tonlib_core::message::{CommonMsgInfo, InternalMessage, TonMessage, TransferMessage};
use tonlib_core::wallet::mnemonic::Mnemonic;
use tonlib_core::wallet::ton_wallet::TonWallet;
use tonlib_core::wallet::wallet_version::WalletVersion;
use tonlib_core::TonAddress as ChainAddress;

/// The marketplace's wallet: its key (from `TON_WALLET_MNEMONIC`) and contract version.
#[derive(Clone)]
pub struct MarketWallet {
    wallet: TonWallet,
    testnet: bool,
}

impl MarketWallet {
    /// `version`: `v4r2` or `v5r1`; `testnet` only changes how the address is written.
    pub fn from_mnemonic(words: &str, version: &str, testnet: bool) -> Result<Self, String> {
        let version = match version.to_ascii_lowercase().as_str() {
            "v4r2" => WalletVersion::V4R2,
            "v5r1" => WalletVersion::V5R1,
            other => return Err(format!("unsupported wallet version {other} (v4r2 or v5r1)")),
        };
        let mnemonic = Mnemonic::from_str(words.trim(), &None).map_err(|e| format!("bad TON_WALLET_MNEMONIC: {e}"))?;
        let keys = mnemonic.to_key_pair().map_err(|e| format!("bad TON_WALLET_MNEMONIC: {e}"))?;
        let wallet = TonWallet::new(version, keys).map_err(|e| format!("cannot build the wallet: {e}"))?;
        Ok(Self { wallet, testnet })
    }

    /// Raw form (`0:<hex>`).
    pub fn raw_address(&self) -> String {
        self.wallet.address.to_hex()
    }

    /// User-friendly form, bounceable (`EQ…`, or `kQ…` on testnet).
    pub fn address(&self) -> String {
        self.wallet.address.to_base64_url_flags(false, self.testnet)
    }

    pub fn public_key(&self) -> &[u8] {
        &self.wallet.key_pair.public_key
    }

    /// Signs one transfer of `nanotons` to `destination` with `comment`; bounceable as the
    /// destination's user-friendly form says (raw addresses: bounceable).
    pub fn sign_transfer(
        &self,
        destination: &str,
        nanotons: u64,
        comment: &str,
        seqno: u32,
        valid_until: u32,
        with_code: bool,
    ) -> Result<SignedTransfer, SignError> {
        let failed = |e: &dyn std::fmt::Display| SignError::Failed(e.to_string());
        let invalid = |e: &dyn std::fmt::Display| SignError::InvalidAddress(e.to_string());
        let d = destination.trim();
        let (dest, bounce) = if d.len() == 48 {
            let parsed = if d.contains('-') || d.contains('_') {
                ChainAddress::from_base64_url_flags(d)
            } else {
                ChainAddress::from_base64_std_flags(d)
            };
            let (addr, non_bounceable, _testnet) = parsed.map_err(|e| invalid(&e))?;
            (addr, !non_bounceable)
        } else {
            (ChainAddress::from_str(d).map_err(|e| invalid(&e))?, true)
        };
        let body = {
            let mut b = CellBuilder::new();
            b.store_u32(32, 0).map_err(|e| failed(&e))?;
            b.store_string(comment).map_err(|e| failed(&e))?;
            b.build().map_err(|e| failed(&e))?
        };
        let info = CommonMsgInfo::InternalMessage(InternalMessage {
            ihr_disabled: true,
            bounce,
            bounced: false,
            src: ChainAddress::NULL,
            dest,
            value: BigUint::from(nanotons),
            ihr_fee: BigUint::from(0u8),
            fwd_fee: BigUint::from(0u8),
            created_lt: 0,
            created_at: 0,
        });
        let internal = TransferMessage::new(info, Arc::new(body)).build().map_err(|e| failed(&e))?;
        let external: Cell = self
            .wallet
            .create_external_msg(valid_until, seqno, with_code, vec![Arc::new(internal)])
            .map_err(|e| failed(&e))?;
        let msg_hash = external.cell_hash_base64();
        let boc = BagOfCells::from_root(external).serialize(true).map_err(|e| failed(&e))?;
        Ok(SignedTransfer { boc: base64::engine::general_purpose::STANDARD.encode(boc), msg_hash })
    }
}

impl TransferSigner for MarketWallet {
    fn raw_address(&self) -> String {
        MarketWallet::raw_address(self)
    }

    fn address(&self) -> String {
        MarketWallet::address(self)
    }

    fn sign(&self, t: &TransferToSign) -> Result<SignedTransfer, SignError> {
        let nanotons = t
            .amount
            .to_nanotons()
            .ok_or_else(|| SignError::Failed(format!("{} TON does not fit a message", t.amount)))?;
        self.sign_transfer(&t.destination, nanotons, &t.comment, t.seqno, t.valid_until.timestamp() as u32, t.deploy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use domain::Money;
    use tonlib_core::tlb_types::block::message::Message;
    use tonlib_core::tlb_types::tlb::TLB;
    use tonlib_core::wallet::versioned::v4::WalletExtMsgBodyV4;

    /// The test mnemonic and v4r2 address published with tonlib-core's wallet tests.
    const MNEMONIC: &str = "fancy carpet hello mandate penalty trial consider property top vicious exit rebuild tragic profit urban major total month holiday sudden rib gather media vicious";
    const ADDRESS_V4R2: &str = "EQCDM_QGggZ3qMa_f3lRPk4_qLDnLTqdi6OkMAV2NB9r5TG3";

    #[test]
    fn the_address_of_a_published_mnemonic_is_the_published_address() {
        let w = MarketWallet::from_mnemonic(MNEMONIC, "v4r2", false).unwrap();
        assert_eq!(w.address(), ADDRESS_V4R2);
        assert_eq!(TransferSigner::address(&w), ADDRESS_V4R2);
        assert_eq!(TransferSigner::raw_address(&w), w.raw_address());
        assert!(w.raw_address().starts_with("0:"));
        assert!(MarketWallet::from_mnemonic("not a mnemonic", "v4r2", false).is_err());
        assert!(MarketWallet::from_mnemonic(MNEMONIC, "v1", false).is_err());
    }

    #[test]
    fn a_signed_transfer_parses_back_and_its_signature_verifies() {
        let w = MarketWallet::from_mnemonic(MNEMONIC, "v4r2", false).unwrap();
        let signed = w.sign_transfer(ADDRESS_V4R2, 1_500_000_000, "withdrawal-1", 7, 1_900_000_000, false).unwrap();
        let boc = base64::engine::general_purpose::STANDARD.decode(&signed.boc).unwrap();
        let root = BagOfCells::parse(&boc).unwrap().single_root().unwrap();
        assert_eq!(root.cell_hash_base64(), signed.msg_hash);
        let message = Message::from_cell(&root).unwrap();
        let signed_body = message.body.value.clone();
        let mut parser = signed_body.parser();
        let signature = parser.load_bytes(64).unwrap();
        let body_cell = Cell::read(&mut parser).unwrap();
        let body = WalletExtMsgBodyV4::from_cell(&body_cell).unwrap();
        assert_eq!((body.msg_seqno, body.valid_until, body.msgs.len()), (7, 1_900_000_000, 1));
        assert!(
            nacl::sign::verify(&signature, body_cell.cell_hash().as_slice(), w.public_key()).unwrap(),
            "signed by the wallet's key"
        );
        let mut other = signature.clone();
        other[0] ^= 1;
        assert!(!nacl::sign::verify(&other, body_cell.cell_hash().as_slice(), w.public_key()).unwrap_or(false));
        let err = w.sign_transfer("not an address", 1, "x", 1, 1, false).unwrap_err();
        assert!(matches!(err, SignError::InvalidAddress(_)), "{err:?}");
        assert!(err.to_string().starts_with("invalid address"));
    }

    #[test]
    fn the_port_signs_the_same_message_as_the_wallet() {
        let w = MarketWallet::from_mnemonic(MNEMONIC, "v4r2", false).unwrap();
        let t = TransferToSign {
            seqno: 7,
            destination: ADDRESS_V4R2.into(),
            amount: Money::parse("1.5").unwrap(),
            comment: "withdrawal-1".into(),
            valid_until: Utc.timestamp_opt(1_900_000_000, 0).unwrap(),
            deploy: false,
        };
        let direct = w.sign_transfer(ADDRESS_V4R2, 1_500_000_000, "withdrawal-1", 7, 1_900_000_000, false).unwrap();
        assert_eq!(w.sign(&t).unwrap(), direct);
        let deploying = w.sign(&TransferToSign { deploy: true, ..t.clone() }).unwrap();
        assert_ne!(deploying.msg_hash, direct.msg_hash, "the first message carries the code");
        let bad = w.sign(&TransferToSign { destination: "EQbad".into(), ..t }).unwrap_err();
        assert!(matches!(bad, SignError::InvalidAddress(_)), "{bad:?}");
    }
}
